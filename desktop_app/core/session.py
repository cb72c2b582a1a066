"""The app's session: what is open and what was computed from it, with no Qt (napari's ViewerModel idea).

A ``Session`` holds the open data and its checks, the chosen model and settings, the current run,
its evaluation and the current predictions. Every result carries the run and the data it came
from; changing the data or the run drops the results that depended on them, and every change is
told to the observers (plain callables, ``subscribe``). The GUI's pages are views of a session:
they redraw from it on these notices, so a page never shows a result whose run or data is gone.

Also here, because the GUI and the tests both need them without Qt:

- ``summarize(metrics, ...)``: a run's results in words, with advice where it applies.
- ``find_interrupted_runs(runs_dir)``: runs a crash or a quit left behind, to offer a resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
import re
from pathlib import Path
from typing import Any, Callable

from .settings import TrainSettings

log = logging.getLogger(__name__)

# The names of change notices. An observer gets one of them (and may ignore the ones it does not show).
DATA, MODEL, SETTINGS, RUN, EVALUATION, PREDICTIONS = "data", "model", "settings", "run", "evaluation", "predictions"
LENGTHS, COMPARISON, SPEED, SHRINK = "lengths", "comparison", "speed", "shrink"
CHANGES = (DATA, MODEL, SETTINGS, RUN, EVALUATION, PREDICTIONS, LENGTHS, COMPARISON, SPEED, SHRINK)


@dataclass(frozen=True)
class OpenData:
    """The labeled data the user opened, as training will see it (after any fixes)."""

    labeled: Any  # core.data.LabeledData
    report: Any  # core.data.ValidationReport
    path: str
    fingerprint: str
    file_rows: int  # rows in the file, before anything was left out or fixed
    fixes: tuple[str, ...] = ()

    @property
    def n_examples(self) -> int:
        return len(self.labeled)

    @property
    def can_train(self) -> bool:
        return self.report is not None and self.report.can_train

    @property
    def multi_label(self) -> bool:
        """Whether the rows carry label sets (several labels per text); see ``multi_label_hint``."""
        return getattr(self.labeled, "label_sets", None) is not None


@dataclass(frozen=True)
class TokenLengths:
    """Whole-text token counts of the open data's texts with one model's tokenizer (the engine's own
    tokenizing pass, ``batching.tokenize``; training in this process reuses its ids)."""

    model: str
    data_fingerprint: str
    lengths: tuple
    model_max: int = 512


@dataclass(frozen=True)
class TrainingSpeed:
    """How fast training learns from the open data with one model and batch, measured before it starts
    (``speed.training_rate``: a few real optimizer steps on the user's texts)."""

    model: str
    data_fingerprint: str
    batch_size: int
    max_length: int
    texts_per_s: float
    device: str = "cpu"

    def matches(self, model: str | None, fingerprint: str | None, batch_size: int, max_length: int) -> bool:
        return (self.model, self.data_fingerprint, self.batch_size, self.max_length) == \
            (model, fingerprint, int(batch_size), int(max_length))


@dataclass(frozen=True)
class Comparison:
    """Candidates trained and measured on one split of the open data (``core.compare``): every row
    carries its run folder (``run_dir``) and the data it was measured on (this data's fingerprint and
    its validation texts)."""

    out_dir: str
    data_fingerprint: str
    data_source: str
    n_valid: int
    rows: tuple  # leaderboard rows (plain dicts), best accuracy first
    recommendations: dict
    status: str = "running"  # running | finished | cancelled | failed


@dataclass(frozen=True)
class Evaluation:
    """How the run ``run_id`` did on some labeled texts.

    ``on`` says on what: "validation" (the part of the open data kept aside: it depends on the open
    data, ``data_fingerprint``), "record" (the run's own measurement in run.json: no examples), or
    the path of a labeled file.
    """

    run_id: str
    data_fingerprint: str
    on: str
    metrics: dict
    result: Any = None  # core.evaluate.EvaluationResult (with the examples), None for "record"
    history: tuple = ()  # the run's per-epoch validation scores, oldest first
    class_counts: dict = field(default_factory=dict)  # training examples per class, when known
    planned_epochs: float | None = None

    @property
    def depends_on_open_data(self) -> bool:
        return self.on == "validation"


@dataclass(frozen=True)
class Predictions:
    """A file or folder classified by the run ``run_id``."""

    run_id: str
    input_path: str
    out_path: str
    rows: int
    counts: dict
    text_column: str | None = None
    multi_label: bool = False  # counts: how often each label was given; no_label: texts given none
    no_label: int = 0
    long_documents: dict = field(default_factory=dict)  # evaluate.long_documents_report: texts longer than one window

    @classmethod
    def from_result(cls, run_id: str, input_path: str, result: dict) -> "Predictions":
        """From predict_file's summary."""
        return cls(run_id, input_path, result["out"], result["rows"], dict(result["counts"]), result.get("text_column"),
                   bool(result.get("multi_label")), int(result.get("no_label") or 0), dict(result.get("long_documents") or {}))

    def in_words(self) -> str:
        """What happened, for a person: how many texts, which answers, and what was done with long texts."""
        counts = ", ".join(f"{k}: {v:,}" for k, v in self.counts.items())
        if self.multi_label:
            text = (f"{plural(self.rows, 'text')} classified. Labels given ({counts}); a text can get several"
                    + (f", and {plural(self.no_label, 'text')} got none" if self.no_label else "") + ".")
        else:
            text = f"{plural(self.rows, 'text')} classified ({counts})."
        long = self.long_documents or {}
        n, window = int(long.get("longer_than_window") or 0), long.get("window")
        if n and long.get("mode") == "on":
            text += (f" {plural(n, 'text')} {'were' if n != 1 else 'was'} longer than the model reads at once ({window} "
                     "tokens): read whole, in overlapping pieces whose answers were combined.")
        elif n:
            text += (f" {plural(n, 'text')} {'were' if n != 1 else 'was'} longer than {window} tokens: only the start of "
                     f"{'each' if n != 1 else 'it'} was read (this model was trained on shorter texts).")
        return text


def run_id_of(run_dir: str | Path | None) -> str:
    """The identity of a run: its folder, resolved (the same run opened two ways is one run)."""
    return str(Path(run_dir).resolve()) if run_dir else ""


class Session:
    """The one place the app's state lives. Change it only through its methods (on one thread)."""

    def __init__(self, settings: TrainSettings | None = None):
        self.data: OpenData | None = None
        self.model_path: str | None = None
        self.settings: TrainSettings = settings or TrainSettings()
        self.preset: str | None = None
        self.method: str = "auto"  # how training learns: auto | zero-shot | few-shot | fine-tune (core.methods)
        self.long_documents: str = "auto"  # texts longer than the max length: auto | on | off (TrainJob.long_documents)
        self.run: str | None = None  # the current run's folder
        self.run_method: str | None = None  # how it learned (run.json "method"): fine-tune, few-shot, zero-shot
        self.evaluation: Evaluation | None = None
        self.predictions: Predictions | None = None
        self.lengths: TokenLengths | None = None
        self.comparison = None  # Comparison | None
        self.training_speed: TrainingSpeed | None = None
        self.shrink_estimate: dict | None = None  # compare.estimate_shrink of one run (its "run_dir")
        self._observers: list[Callable[[str], None]] = []

    # -- observers -----------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that unsubscribes."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _notify(self, change: str) -> None:
        for callback in list(self._observers):
            try:
                callback(change)
            except Exception:  # noqa: BLE001 - one broken view must not stop the others
                log.exception("session observer failed on %r", change)

    # -- the open data ---------------------------------------------------------------------------
    def set_data(self, data: OpenData | None) -> None:
        old = self.data.fingerprint if self.data else None
        self.data = data
        new = data.fingerprint if data else None
        if old != new and self.evaluation is not None and self.evaluation.depends_on_open_data:
            self.evaluation = None
            self._notify(EVALUATION)
        if old != new and self.lengths is not None:
            self.lengths = None
            self._notify(LENGTHS)
        if old != new and self.comparison is not None:
            self.comparison = None
            self._notify(COMPARISON)
        self._notify(DATA)

    def training_data(self):
        """The labeled data to train on, or None when none is open or its checks block training."""
        return self.data.labeled if self.data is not None and self.data.can_train else None

    def set_lengths(self, lengths: TokenLengths | None) -> bool:
        """Keep token lengths measured for the open data with the chosen model; refuse stale ones."""
        if lengths is not None and (self.data is None or lengths.data_fingerprint != self.data.fingerprint
                                    or lengths.model != self.model_path or len(lengths.lengths) != self.data.n_examples):
            return False
        self.lengths = lengths
        self._notify(LENGTHS)
        return True

    def set_comparison(self, comparison: "Comparison | None") -> bool:
        """Keep a comparison measured on the open data; refuse one of other data."""
        if comparison is not None and (self.data is None or comparison.data_fingerprint != self.data.fingerprint):
            return False
        self.comparison = comparison
        self._notify(COMPARISON)
        return True

    def current_comparison(self) -> "Comparison | None":
        c = self.comparison
        return c if c is not None and self.data is not None and c.data_fingerprint == self.data.fingerprint else None

    def set_shrink_estimate(self, estimate: dict | None) -> None:
        """What shrinking a run would give (``compare.estimate_shrink``), measured before it starts."""
        self.shrink_estimate = estimate
        self._notify(SHRINK)

    def current_shrink_estimate(self, run_dir: str | Path | None) -> dict | None:
        e = self.shrink_estimate
        return e if e is not None and run_dir and run_id_of(e.get("run_dir")) == run_id_of(run_dir) else None

    def set_training_speed(self, measured: TrainingSpeed | None) -> bool:
        """Keep a training speed measured on the open data with the chosen model; refuse a stale one."""
        if measured is not None and (self.data is None or measured.data_fingerprint != self.data.fingerprint
                                     or measured.model != self.model_path):
            return False
        self.training_speed = measured
        self._notify(SPEED)
        return True

    def current_training_speed(self, batch_size: int, max_length: int) -> TrainingSpeed | None:
        m = self.training_speed
        if m is None or self.data is None or not m.matches(self.model_path, self.data.fingerprint, batch_size, max_length):
            return None
        return m

    def current_lengths(self) -> TokenLengths | None:
        """The open data's token lengths with the chosen model's tokenizer, or None (not measured yet)."""
        ln = self.lengths
        if ln is None or self.data is None or ln.data_fingerprint != self.data.fingerprint or ln.model != self.model_path:
            return None
        return ln

    # -- model and settings ----------------------------------------------------------------------
    def set_model(self, path: str | None) -> None:
        if path != self.model_path:
            self.model_path = path
            if self.lengths is not None:
                self.lengths = None
                self._notify(LENGTHS)
            self._notify(MODEL)

    def set_settings(self, settings: TrainSettings, preset: str | None = None) -> None:
        if settings != self.settings or preset != self.preset:
            self.settings, self.preset = settings, preset
            self._notify(SETTINGS)

    def set_method(self, method: str) -> None:
        """How the next training learns (``methods.METHODS``); notifies as a settings change."""
        from .defaults import METHODS

        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        if method != self.method:
            self.method = method
            self._notify(SETTINGS)

    def set_long_documents(self, mode: str) -> None:
        """Whether the next training reads long texts in pieces: auto | on | off."""
        if mode not in ("auto", "on", "off"):
            raise ValueError(f"unknown long-document mode {mode!r}")
        if mode != self.long_documents:
            self.long_documents = mode
            self._notify(SETTINGS)

    def method_choice(self):
        """(method, reason) the next training will use for the open data, as ``train_with_method`` chooses it,
        or raises ``UserInputError`` when the chosen method cannot train this data (few-shot on label sets)."""
        from .methods import choose_for

        data = self.training_data()
        choice = choose_for(data if data is not None else {}, self.method)
        return choice.method, in_window_words(choice.reason)

    # -- the run and its results -----------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return run_id_of(self.run)

    def set_run(self, run_dir: str | Path | None) -> None:
        """Make ``run_dir`` current; results of another run are dropped."""
        run = str(run_dir) if run_dir else None
        same = run_id_of(run) == self.run_id
        self.run = run
        self.run_method = _method_of(run)
        if not same:
            if self.evaluation is not None:
                self.evaluation = None
                self._notify(EVALUATION)
            if self.predictions is not None:
                self.predictions = None
                self._notify(PREDICTIONS)
        self._notify(RUN)

    def is_current(self, result: Evaluation | Predictions | None) -> bool:
        """True when ``result`` belongs to the current run (and, if it depends on it, the open data)."""
        if result is None or not self.run or result.run_id != self.run_id:
            return False
        if isinstance(result, Evaluation) and result.depends_on_open_data:
            return self.data is not None and result.data_fingerprint == self.data.fingerprint
        return True

    def set_evaluation(self, evaluation: Evaluation | None) -> bool:
        """Keep ``evaluation`` if it is about the current run and data; returns whether it was kept."""
        if evaluation is not None and not self.is_current(evaluation):
            return False  # finished after the user moved on: never shown
        self.evaluation = evaluation
        self._notify(EVALUATION)
        return True

    def set_predictions(self, predictions: Predictions | None) -> bool:
        if predictions is not None and not self.is_current(predictions):
            return False
        self.predictions = predictions
        self._notify(PREDICTIONS)
        return True

    def current_evaluation(self) -> Evaluation | None:
        return self.evaluation if self.is_current(self.evaluation) else None

    def current_predictions(self) -> Predictions | None:
        return self.predictions if self.is_current(self.predictions) else None


# -- a run's own record ----------------------------------------------------------------------------

def _method_of(run_dir: str | None) -> str | None:
    """run.json's "method" (older runs: fine-tune), None without a readable record."""
    from .runs import RUN_JSON, read_json

    if not run_dir:
        return None
    try:
        return str(read_json(Path(run_dir) / RUN_JSON).get("method") or "fine-tune")
    except (OSError, ValueError, AttributeError):
        return None


def record_evaluation(run_dir: str | Path) -> Evaluation | None:
    """The evaluation a finished run measured on its validation part (from run.json), or None."""
    from .runs import RUN_JSON, read_json

    try:
        record = read_json(Path(run_dir) / RUN_JSON)
    except (OSError, ValueError):
        return None
    metrics = record.get("final_metrics") or {}
    if not isinstance(metrics.get("accuracy"), (int, float)) or not metrics.get("labels"):
        return None
    if (record.get("split") or {}).get("kind") == "training-rows":  # few-shot runs made before the record said so
        metrics = {**metrics, "evaluated_on": "cross-validation"}
    data = record.get("data") or {}
    history = tuple(h for h in record.get("history") or [] if isinstance(h, dict))
    planned = (record.get("settings") or {}).get("epochs")
    return Evaluation(run_id_of(run_dir), str(data.get("fingerprint_all", "")), "record", metrics,
                      history=history, class_counts=dict(data.get("class_counts") or {}),
                      planned_epochs=float(planned) if isinstance(planned, (int, float)) else None)


def find_interrupted_runs(runs_dir: str | Path) -> list:
    """Runs that stopped before they finished (a crash, a quit, a cancel) and can be resumed, newest first.

    A comparison's candidates are not among them: a comparison is run again as a whole (its page keeps the rows
    measured), never resumed one candidate at a time from the start-up question."""
    from .runs import list_runs

    return [r for r in list_runs(runs_dir) if r.status in ("running", "cancelled") and r.resumable
            and not (Path(r.path).parent / "leaderboard.json").is_file()]


# -- results in words ------------------------------------------------------------------------------

_FLAG_IN_BRACKETS = re.compile(r"\s*\((?:set with |use )?--[a-z][a-z0-9-]*(?:[ =][^)]*)?\)")
_FLAG = re.compile(r"--[a-z][a-z0-9-]*(?:[ =](?:[A-Za-z0-9_.:/-]+))?")


def few_shot_batch_words(batch_size: int, n_categories: int) -> str:
    """How a few-shot batch is made (few_shot.pair_batches), with the real numbers: pairs of texts of one
    category, shuffled across all the categories."""
    pairs = max(1, batch_size // 2)
    compared = batch_size * (batch_size - 1) // 2
    per_category = batch_size / max(1, n_categories)
    return (f"{pairs} pairs of texts from the same category per batch ({batch_size} texts), mixed across your "
            f"{n_categories} categories (about {per_category:.0f} texts of each): every batch compares "
            f"{compared} pairs of texts, same and different categories")


def in_window_words(reason: str) -> str:
    """An engine reason as the window says it: no command-line flags. "set by you (--method fine-tune)" becomes
    "set by you under “How to learn” (kept from your last session until you change it; “Automatic” lets the
    app choose)"."""
    reason = str(reason or "")
    if "--method" in reason and reason.strip().startswith("set by you"):
        return ("set by you under “How to learn” (kept from your last session until you change it; "
                "“Automatic (recommended)” lets the app choose)")
    reason = _FLAG_IN_BRACKETS.sub("", reason)
    return _FLAG.sub("the matching setting", reason)


FEW_EXAMPLES = 20  # a class with fewer training examples than this is "a class with few examples"


@dataclass(frozen=True)
class Advice:
    text: str
    action: str = ""  # "train_longer" | "class_weights" | "budget" (value: minutes) | "" (nothing to click)
    value: float | None = None


@dataclass(frozen=True)
class Summary:
    headline: str  # "92% of the validation texts were right."
    details: list[str]
    advice: list[Advice]


def percent(share: float) -> str:
    """The app's one format for a share: whole percent, or one decimal below 10% (never '0%' for a few)."""
    value = 100.0 * float(share)
    if 0 < value < 0.1:
        return "under 0.1%"
    if value < 10 and round(value) != value:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 warning', '2 warnings', '1,234 texts'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def multi_label_hint(table, text_column: str | None, label_column: str | None) -> str | None:
    """What the data page says when a file looks multi-label (a label column of joined labels, or 0/1
    columns), or None. The user can then switch (``load_labeled(multi_label=..., label_separator=...,
    label_columns=...)``)."""
    from .data import detect_separator, guess_label_columns

    if label_column and label_column in table.data:
        guess = detect_separator(table.data[label_column])
        if guess is not None:
            return (f"This file looks multi-label: {guess.reason}. Each text can get several labels; "
                    "switch to single-label to treat each cell as one label.")
    columns = guess_label_columns(table, text_column)
    if len(columns) >= 2:
        return (f"This file may be multi-label: the columns {', '.join(columns[:8])} hold only 0/1 values "
                "(one column per label).")
    return None


def summarize_multi_label(metrics: dict, on: str = "validation", class_counts: dict | None = None, history=()) -> Summary:
    """A multi-label run's results in words: F1, exact match, the labels most often missed or added."""
    per = metrics.get("per_label") or {}
    n = int(metrics.get("n") or 0)
    where = {"validation": "validation", "record": "validation"}.get(on, "")
    texts = f"the {where} texts" if where else f"the texts in {Path(on).name}"
    headline = (f"All labels right for {percent(metrics.get('exact_match', 0))} of {texts} ({plural(n, 'text')}); "
                f"micro-F1 {metrics.get('micro_f1', 0):.2f}, macro-F1 {metrics.get('macro_f1', 0):.2f}.")
    details: list[str] = []
    advice: list[Advice] = []
    confusion = metrics.get("label_confusion") or {}
    missed = max(confusion, key=lambda l: confusion[l][1][0], default=None)
    added = max(confusion, key=lambda l: confusion[l][0][1], default=None)
    if missed and confusion[missed][1][0]:
        details.append(f"Most often missed: “{missed}” ({plural(confusion[missed][1][0], 'text')}).")
    if added and confusion[added][0][1]:
        details.append(f"Most often added although not there: “{added}” ({plural(confusion[added][0][1], 'text')}).")
    never = [l for l, row in per.items() if row.get("support") and not row.get("predicted")]
    if never:
        advice.append(Advice("The model never answered " + ", ".join(f"“{l}”" for l in never[:5])
                             + ", although some texts carry it. Train longer or add examples of it.", "train_longer"))
    from .multilabel import advice as multi_label_advice

    advice[:0] = [Advice(text, "train_longer" if "Train longer" in text else "") for text in multi_label_advice(metrics, history)]
    for label, count in (class_counts or {}).items():
        if count < FEW_EXAMPLES:
            advice.append(Advice(f"“{label}” has only {plural(int(count), 'training example')}: add more examples of it "
                                 "for a more reliable model."))
    return Summary(headline, details, advice)


def summarize(metrics: dict, on: str = "validation", history=(), class_counts: dict | None = None,
              planned_epochs: float | None = None) -> Summary:
    """A run's results for a person: how often it was right, what went wrong most, and what to do."""
    if metrics.get("problem_type") == "multi_label_classification":
        return summarize_multi_label(metrics, on, class_counts, history)
    labels = [str(l) for l in metrics.get("labels", [])]
    matrix = metrics.get("confusion_matrix") or []
    per_class = metrics.get("per_class") or {}
    n = int(metrics.get("n") or sum(sum(r) for r in matrix) or 0)
    where = {"validation": "validation", "record": "validation"}.get(on, "")
    texts = f"the {where} texts" if where else f"the texts in {Path(on).name}"
    cross_validated = on == "record" and metrics.get("evaluated_on") == "cross-validation"
    if cross_validated:  # few-shot: no texts were kept aside, and the text model learned from all of them
        headline = (f"{percent(metrics.get('accuracy', 0))} of the {plural(n, 'labeled text')} were right in a cross-check "
                    "(each scored by a final step fitted without it). New texts usually score lower: evaluate on a "
                    "labeled file the model has not seen for a true measure.")
    else:
        headline = f"{percent(metrics.get('accuracy', 0))} of {texts} were right ({plural(n, 'text')})."
    details: list[str] = []
    advice: list[Advice] = []
    worst = None
    for r, row in enumerate(matrix):
        for c, count in enumerate(row):
            if r != c and count and (worst is None or count > worst[0]):
                worst = (count, r, c)
    if worst is not None:
        count, r, c = worst
        details.append(f"Most common mistake: {plural(count, labels[r] + ' text')} taken for {labels[c]}.")
    elif n:
        details.append("No mistakes on these texts.")
    class_counts = class_counts or {}
    never = [label for i, label in enumerate(labels)
             if matrix and sum(row[i] for row in matrix) == 0 and int((per_class.get(label) or {}).get("support", 0))]
    if never and cross_validated:  # few-shot weighs pairs, not classes: more examples are what helps
        names = ", ".join(f"“{label}”" for label in never)
        advice.append(Advice(f"The model never answered {names}, although some of these texts were. "
                             "Label more examples of these categories."))
    elif never:
        names = ", ".join(f"“{label}”" for label in never)
        advice.append(Advice(f"The model never answered {names}, although some of these texts were. "
                             "Train longer, and turn on class weights so rare classes count more.", "class_weights"))
    for label, count in class_counts.items():
        if count < FEW_EXAMPLES:
            advice.append(Advice(f"“{label}” has only {plural(int(count), 'training example')}: add more examples of it "
                                 "for a more reliable model."))
    if class_counts:
        counts = [int(v) for v in class_counts.values() if v]
        if counts and max(counts) / max(1, min(counts)) >= 3:
            small = min(class_counts, key=class_counts.get)
            recall = (per_class.get(small) or {}).get("recall")
            if recall is not None and recall < float(metrics.get("accuracy", 0)) - 0.15 and not cross_validated and \
                    not any(a.action == "class_weights" for a in advice):
                advice.append(Advice(f"“{small}” is rare in the training data ({max(counts) / max(1, min(counts)):.1f} times "
                                     f"fewer than the largest class) and the model finds only {percent(recall)} of it. "
                                     "Class weights make rare classes count more.", "class_weights"))
    epochs = [float(h.get("epoch", 0)) for h in history]
    scores = [float(h.get("accuracy", 0)) for h in history]
    if epochs and epochs[-1] < 1:
        advice.append(Advice(f"Training stopped after reading {percent(epochs[-1])} of the training texts once: "
                             "the model has not seen all of them. Train longer for a better model.", "train_longer"))
    elif len(scores) >= 2 and scores[-1] > scores[-2] + 0.005 and scores[-1] >= max(scores):
        advice.append(Advice("The model was still improving when training stopped: training longer will likely help.",
                             "train_longer"))
    return Summary(headline, details, advice)


def epochs_in_words(epochs: float | None) -> str:
    """Rounded for people: 'half of the texts once', '3 passes over the texts'."""
    if epochs is None:
        return "chosen automatically"
    if epochs < 1:
        return f"{percent(epochs)} of the texts, once"
    rounded = round(epochs, 1)
    return f"{rounded:g} pass{'es' if rounded != 1 else ''} over the texts"


# -- a plan checked before training starts ---------------------------------------------------------

IMBALANCE_WARN = 3.0  # largest/smallest class ratio from which a rare class is flagged before training
TARGET_PASSES = 2  # what the offered time limit aims for when a preset would not read every text once


def planned_passes(budget_min: float, n_train: int, n_valid: int, texts_per_s: float, epochs_cap: float) -> float:
    """Passes over the training texts that fit into a time limit at a measured speed, as the engine plans
    them (95% of the time; a validation after each pass costs about half its share of a pass)."""
    usable_s = max(0.0, budget_min * 60 * 0.95 - 10.0)  # loading the model and tokenizing
    pass_s = n_train / max(texts_per_s, 1e-9) * (1 + n_valid / max(1, n_train) / 2)
    return min(float(epochs_cap), usable_s / max(pass_s, 1e-9))


def minutes_for(passes: float, n_train: int, n_valid: int, texts_per_s: float) -> int:
    """Whole minutes that fit ``passes`` at the measured speed (the inverse of ``planned_passes``)."""
    import math

    pass_s = n_train / max(texts_per_s, 1e-9) * (1 + n_valid / max(1, n_train) / 2)
    return max(1, math.ceil((passes * pass_s + 10.0) / 0.95 / 60))


def check_plan(settings: TrainSettings, n_train: int, n_valid: int, class_counts: dict, texts_per_s: float | None,
               preset_title: str | None = None, device: str = "cpu") -> list[Advice]:
    """What a person should know before pressing Start, each with its fix: a time limit too short to read
    every training text once (from a measured speed), and a class much rarer than the largest one.
    ``settings``: the resolved plan (``defaults.plan``)."""
    advice: list[Advice] = []
    budget = settings.time_budget_min
    if budget and texts_per_s:
        passes = planned_passes(budget, n_train, n_valid, texts_per_s, settings.epochs or 1e9)
        if passes < 1:
            limit = f"“{preset_title}” (about {budget:g} minutes)" if preset_title else f"about {budget:g} minutes"
            minutes = minutes_for(TARGET_PASSES, n_train, n_valid, texts_per_s)
            where = "this computer's CPU" if device == "cpu" else "this computer"
            advice.append(Advice(
                f"In {limit}, training can read only about {percent(passes)} of your {plural(n_train, 'training text')} "
                f"once. A model that has not seen every text can miss whole classes. Estimated from a measured speed of "
                f"{texts_per_s:.0f} texts per second on {where} (a few training steps on your texts). "
                f"Fix: train for about {minutes} minutes, time to read each of them twice.", "budget", minutes))
    counts = {str(k): int(v) for k, v in (class_counts or {}).items() if v}
    if len(counts) >= 2:
        big, small = max(counts, key=counts.get), min(counts, key=counts.get)
        ratio = counts[big] / max(1, counts[small])
        if ratio >= IMBALANCE_WARN:
            head = (f"“{small}” has {ratio:.1f} times fewer training examples than “{big}” "
                    f"({plural(counts[small], 'example')} against {counts[big]:,}).")
            if settings.class_weights:
                advice.append(Advice(head + " Class weights are on, so its mistakes count more and the model does not "
                                            "simply ignore it."))
            else:
                advice.append(Advice(head + " The model may rarely or never answer it. Fix: turn on class weights, so "
                                            "mistakes on rare classes count more (the app turns them on by itself only "
                                            "from 6 times).", "class_weights"))
    return advice
