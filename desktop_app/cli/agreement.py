"""``classifier-studio agreement DATA [--out MAJORITY.csv]``: how much several annotators agree, in words.

DATA has one label column per annotator (label_anna, label_ben, ...) or one row per annotator (an
'annotator' column and a label column). Prints Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha
and the agreement per category; --out writes each text with its majority label to train on (ties left
without a label and listed for review).
"""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("agreement", help="how much several annotators agree; the majority label to train on")
    p.add_argument("data", metavar="DATA", help="file with the labels of two or more annotators")
    p.add_argument("--out", metavar="MAJORITY.csv", help="write each text with its majority label (ties listed for review)")
    p.add_argument("--text-column", metavar="C", help="column holding the text (default: guessed)")
    p.add_argument("--annotator-columns", metavar="A,B,...", type=lambda v: [c.strip() for c in v.split(",") if c.strip()],
                   help="one label column per annotator (default: columns named like label_anna, label_ben)")
    p.add_argument("--annotator-column", metavar="C", help="one row per annotator: the column naming the annotator")
    p.add_argument("--label-column", metavar="C", help="with --annotator-column: the column holding the label")
    p.add_argument("--sheet", metavar="NAME", help="the Excel sheet to read (default: the first with data)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.agreement import agreement, read_ratings, write_majority
    from ..core.outputs import check_not_inside
    from .common import emit_json, info

    ratings = read_ratings(args.data, text_column=args.text_column, annotator_columns=args.annotator_columns,
                           annotator_column=args.annotator_column, label_column=args.label_column, sheet=args.sheet)
    report = agreement(ratings)
    for sentence in report.sentences():
        print(sentence)
    summary = report.to_dict()
    if args.out:
        check_not_inside(args.out, [args.data])
        written = write_majority(args.out, ratings)
        ties = written["ties"]
        info(f"{written['rows']} texts with their majority label -> {args.out}")
        if ties:
            info(f"{len(ties)} texts are tied and have no label there (training skips them); decide them first:")
            for v in ties[:10]:
                text = v.text if len(v.text) <= 60 else v.text[:57] + "..."
                info(f"  row {v.row}: {' or '.join(v.tied)}  {text}")
        summary.update(out=str(args.out), ties=len(ties))
    if args.json:
        emit_json(summary)
    return 0
