"""Checks on labeled data before training: findings with severity, where, how to fix."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Literal

from ..errors import UserInputError
from .labeled import LabeledData
from .table import describe_rows

Severity = Literal["error", "warning", "info"]
MAX_EXAMPLE_ROWS = 50
IMBALANCE_RATIO = 10
LONG_TEXT_WARNING_SHARE = 0.05
FIX_IDS = ("drop_empty", "drop_duplicates", "merge_label_variants")


@dataclass
class Finding:
    code: str
    severity: Severity
    message: str
    where: str
    fix: str
    fix_id: str | None = None
    count: int = 0
    rows: list[int] = field(default_factory=list)  # up to MAX_EXAMPLE_ROWS file rows

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ValidationReport:
    findings: list[Finding]
    n_rows: int  # rows read, including skipped ones
    n_usable: int
    class_counts: dict[str, int]
    source: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def can_train(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"source": self.source, "n_rows": self.n_rows, "n_usable": self.n_usable,
                "class_counts": dict(self.class_counts), "can_train": self.can_train,
                "findings": [f.to_dict() for f in self.findings]}

    def summary(self) -> str:
        """A few lines for a person: the counts, then each finding with where and how to fix it."""
        n_err, n_warn = len(self.errors), len(self.warnings)
        head = (f"{self.n_usable} usable rows of {self.n_rows}, {len(self.class_counts)} "
                f"class{'es' if len(self.class_counts) != 1 else ''}. ")
        if not self.findings:
            return head + "No problems found."
        head += f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} warning{'s' if n_warn != 1 else ''}"
        head += "." if self.can_train else " (training is blocked until the errors are fixed)."
        lines = [head]
        for f in self.findings:
            lines.append(f"{f.severity.upper()}: {f.message}")
            if f.where:
                lines.append(f"  Where: {f.where}")
            if f.fix:
                lines.append(f"  Fix: {f.fix}")
        return "\n".join(lines)


def _rows_finding(code: str, severity: Severity, message: str, rows: list[int], fix: str,
                  fix_id: str | None = None, count: int | None = None) -> Finding:
    rows = sorted(rows)
    return Finding(code, severity, message, describe_rows(rows), fix, fix_id,
                   len(rows) if count is None else count, rows[:MAX_EXAMPLE_ROWS])


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def label_key(label: str) -> str:
    """Labels with the same key differ only in capitals or spaces."""
    return " ".join(label.split()).casefold()


def label_variant_groups(labels: list[str]) -> list[list[str]]:
    """Groups of distinct spellings of one label, most frequent spelling first."""
    counts = Counter(labels)
    groups: dict[str, list[str]] = defaultdict(list)
    for label in sorted(counts):
        groups[label_key(label)].append(label)
    return [sorted(g, key=lambda l: (-counts[l], l)) for g in groups.values() if len(g) > 1]


def duplicate_positions(data: LabeledData) -> list[int]:
    """Positions of exact (text, label) repeats, keeping the first occurrence."""
    seen: set[tuple[str, str]] = set()
    out = []
    for i, pair in enumerate(zip(data.texts, data.labels)):
        if pair in seen:
            out.append(i)
        else:
            seen.add(pair)
    return out


def validate(data: LabeledData, token_lengths: list[int] | None = None, max_length: int | None = None,
             min_per_class: int = 5) -> ValidationReport:
    """Everything worth telling the user about ``data``. Errors block training; warnings do not."""
    findings: list[Finding] = []
    empty = data.skipped.get("empty_text", [])
    missing = data.skipped.get("missing_label", [])
    counts = data.class_counts()
    n_rows = len(data) + data.n_skipped
    if empty:
        findings.append(_rows_finding(
            "empty_text", "warning", f"{_plural(len(empty), 'row')} without text will be left out.", empty,
            "Nothing to do if these rows are meant to be blank; otherwise fill in the text in the file.", "drop_empty"))
    if missing:
        findings.append(_rows_finding(
            "missing_label", "warning", f"{_plural(len(missing), 'row')} without a label will be left out.", missing,
            "To use them, label them on the Label page (open this file there: the app suggests a label for each and "
            "keeps the labels you already have), or add the labels in the file.", "drop_empty"))
    placeholder = data.skipped.get("placeholder_label", [])
    if placeholder:
        findings.append(_rows_finding(
            "placeholder_label", "warning",
            f"{_plural(len(placeholder), 'row')} {'have' if len(placeholder) != 1 else 'has'} a label such as "
            "'NaN', 'null', 'None' or 'N/A', which means the label is missing; "
            f"{'they' if len(placeholder) != 1 else 'it'} will be left out, not learned as a class.", placeholder,
            "Fill in the real labels in the file if these rows should be used for training.", "drop_empty"))
    for note in data.notes:
        findings.append(Finding(note.code, "warning", note.message, data.source, note.fix, None, note.count, []))

    if not data:
        findings.append(Finding(
            "no_rows", "error", f"No usable rows: all {n_rows} rows have an empty text or no label." if n_rows
            else "No usable rows: the file has no data rows.", "whole file",
            "Check that the text and label columns are the right ones and that the file holds data.", None, 0, []))
        return ValidationReport(_sorted(findings), n_rows, 0, counts, data.source)

    _check_duplicates(data, findings)
    _check_label_variants(data, findings)
    _check_classes(data, counts, min_per_class, findings)
    if token_lengths is not None and max_length:
        _check_lengths(data, token_lengths, max_length, findings)
    return ValidationReport(_sorted(findings), n_rows, len(data), counts, data.source)


def _sorted(findings: list[Finding]) -> list[Finding]:
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order[f.severity])


def _check_duplicates(data: LabeledData, findings: list[Finding]) -> None:
    dup = duplicate_positions(data)
    if dup:
        findings.append(_rows_finding(
            "duplicates", "warning",
            f"{_plural(len(dup), 'row')} repeat{'s' if len(dup) == 1 else ''} an earlier row exactly (same text and label).",
            [data.rows[i] for i in dup],
            "Drop the repeats (the first copy is kept): repeats over-weight some examples and can leak "
            "into the validation split and inflate its score.", "drop_duplicates"))
    by_text: dict[str, set[str]] = defaultdict(set)
    for text, label in zip(data.texts, data.labels):
        by_text[text].add(label)
    conflicting = {t: ls for t, ls in by_text.items() if len(ls) > 1}
    if conflicting:
        rows = [r for t, r in zip(data.texts, data.rows) if t in conflicting]
        text, labels = next(iter(conflicting.items()))
        example = text if len(text) <= 40 else text[:37] + "..."
        findings.append(_rows_finding(
            "conflicting_labels", "warning",
            f"{_plural(len(conflicting), 'text')} appear{'s' if len(conflicting) == 1 else ''} with different labels "
            f"({len(rows)} rows), e.g. '{example}' is labeled {', '.join(repr(l) for l in sorted(labels))}.",
            rows, "Decide on one label for each of these texts and correct the file; "
            "the model cannot learn two answers for the same text.", None, len(rows)))


def _check_label_variants(data: LabeledData, findings: list[Finding]) -> None:
    groups = label_variant_groups(data.labels)
    if not groups:
        return
    minority = {l for g in groups for l in g[1:]}
    rows = [r for l, r in zip(data.labels, data.rows) if l in minority]
    described = "; ".join(" vs. ".join(f"'{l}'" for l in g) for g in groups[:5])
    findings.append(_rows_finding(
        "label_variants", "warning",
        f"{_plural(len(groups), 'label is', 'labels are')} spelled in more than one way (capitals or spaces): {described}.",
        rows, "Merge the variants into the most frequent spelling "
        f"({', '.join(repr(g[0]) for g in groups[:5])}); otherwise they are trained as different classes.",
        "merge_label_variants"))


def _check_classes(data: LabeledData, counts: dict[str, int], min_per_class: int, findings: list[Finding]) -> None:
    if len(counts) == 1:
        label = next(iter(counts))
        findings.append(Finding(
            "single_class", "error", f"Every usable row ({len(data)}) has the same label, '{label}'.", "label column",
            "A classifier needs at least two classes: add examples of other labels, "
            "or check that the right column is used for the labels.", None, len(data), []))
        return
    if max(counts.values()) < 2:
        findings.append(Finding(
            "no_repeated_class", "error",
            f"Every label occurs only once ({len(counts)} different labels in {len(data)} rows), so there is nothing to learn.",
            "label column", "Check that the label column is right (an ID or free-text column is not a label), "
            "and give each class several examples.", None, len(data), data.rows[:MAX_EXAMPLE_ROWS]))
        return
    small = {l: n for l, n in counts.items() if n < min_per_class}
    if small:
        listed = ", ".join(f"'{l}' ({n})" for l, n in sorted(small.items(), key=lambda x: (x[1], x[0]))[:8])
        more = f" and {len(small) - 8} more" if len(small) > 8 else ""
        rows = [r for l, r in zip(data.labels, data.rows) if l in small]
        findings.append(_rows_finding(
            "small_classes", "warning",
            f"{_plural(len(small), 'class has', 'classes have')} fewer than {min_per_class} examples: {listed}{more}.",
            rows, f"Training still works, but a class with so few examples is seldom predicted: add examples so each "
            f"has at least {min_per_class} (more is better; the Label page suggests which texts to label next), or merge "
            "a rare class into a related one.", None, len(small)))
    largest = max(counts, key=lambda l: (counts[l], l))
    smallest = min(counts, key=lambda l: (counts[l], l))
    ratio = counts[largest] / counts[smallest]
    if ratio >= IMBALANCE_RATIO:
        findings.append(Finding(
            "imbalance", "warning",
            f"The classes are imbalanced: '{largest}' has {counts[largest]} examples, '{smallest}' only "
            f"{counts[smallest]} ({ratio:.0f}:1).", "label column",
            "Class weights are applied automatically, so training still works; adding examples of the small "
            "classes helps most. Judge the result by macro-F1 rather than accuracy.", None, len(counts), []))


def _check_lengths(data: LabeledData, token_lengths: list[int], max_length: int, findings: list[Finding]) -> None:
    if len(token_lengths) != len(data):
        raise ValueError(f"token_lengths has {len(token_lengths)} entries for {len(data)} texts")
    long_rows = [r for n, r in zip(token_lengths, data.rows) if n > max_length]
    if not long_rows:
        return
    share = len(long_rows) / len(data)
    findings.append(_rows_finding(
        "long_texts", "warning" if share > LONG_TEXT_WARNING_SHARE else "info",
        f"{share:.0%} of the texts ({len(long_rows)}) are longer than {max_length} tokens; only their first "
        f"{max_length} tokens are used.", long_rows,
        "Nothing to do if the start of a text says enough. Otherwise raise the maximum length "
        "(slower, needs more memory) or put the important part first.", None))


def require_trainable(report: ValidationReport) -> None:
    """Raise UserInputError listing each error and its fix when the data cannot be trained on."""
    if report.can_train:
        return
    errors = report.errors
    message = "The data cannot be used for training: " + " ".join(f.message for f in errors)
    fix = " ".join(f"({i}) {f.fix}" if len(errors) > 1 else f.fix for i, f in enumerate(errors, start=1))
    raise UserInputError(message, where=report.source or None, fix=fix)
