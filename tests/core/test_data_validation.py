"""Validation findings (each names rows and a fix), fixes the engine applies, and the training gate."""

from __future__ import annotations

import json

import pytest

from desktop_app.core.data import LabeledData, apply_fixes, require_trainable, validate
from desktop_app.core.errors import UserInputError


def make(pairs: list[tuple[str, str]], skipped: dict[str, list[int]] | None = None) -> LabeledData:
    return LabeledData([t for t, _ in pairs], [l for _, l in pairs], list(range(2, len(pairs) + 2)), "data.csv",
                       skipped or {})


def balanced(n: int = 6, labels: tuple[str, ...] = ("a", "b")) -> list[tuple[str, str]]:
    return [(f"text {label} {i}", label) for label in labels for i in range(n)]


def by_code(report, code):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [f.code for f in report.findings]
    return found[0]


def test_clean_data_has_no_findings():
    report = validate(make(balanced()))
    assert report.findings == [] and report.can_train
    assert report.class_counts == {"a": 6, "b": 6} and report.n_usable == 12
    assert "No problems" in report.summary()


def test_empty_text_and_missing_label_are_warnings_with_rows():
    report = validate(make(balanced(), {"empty_text": [4, 9, 17, 20], "missing_label": [30]}))
    empty, missing = by_code(report, "empty_text"), by_code(report, "missing_label")
    assert empty.severity == missing.severity == "warning" and report.can_train
    assert empty.count == 4 and "4 rows" in empty.message
    assert empty.where == "rows 4, 9, 17 and 20" and empty.rows == [4, 9, 17, 20]
    assert missing.where == "row 30" and missing.fix_id == "drop_empty"
    assert report.n_rows == 17


def test_duplicates_found_and_dropped_keeping_the_first():
    data = make(balanced() + [("text a 0", "a"), ("text a 0", "a"), ("text b 1", "b")])
    f = by_code(validate(data), "duplicates")
    assert f.count == 3 and f.rows == [14, 15, 16] and f.fix_id == "drop_duplicates"
    fixed = apply_fixes(data, ["drop_duplicates"])
    assert len(fixed) == 12 and fixed.rows == list(range(2, 14))
    assert "duplicates" not in {x.code for x in validate(fixed).findings}
    assert len(data) == 15  # the original is unchanged


def test_conflicting_labels_named_with_rows():
    data = make(balanced() + [("text a 1", "b")])
    f = by_code(validate(data), "conflicting_labels")
    assert f.severity == "warning" and f.fix_id is None
    assert f.rows == [3, 14] and "'text a 1'" in f.message and "'a', 'b'" in f.message


def test_label_case_and_space_variants_merged_to_most_frequent():
    data = make(balanced() + [("x1", "A"), ("x2", "A")])  # e.g. "A " in the file: to_labeled strips spaces
    f = by_code(validate(data), "label_variants")
    assert "'a' vs. 'A'" in f.message and f.fix_id == "merge_label_variants"
    assert f.rows == [14, 15]
    fixed = apply_fixes(data, ["merge_label_variants"])
    assert fixed.class_counts() == {"a": 8, "b": 6}


def test_small_classes_and_imbalance_warn_but_allow_training():
    data = make(balanced(n=40, labels=("big",)) + balanced(n=3, labels=("tiny",)))
    report = validate(data)
    small = by_code(report, "small_classes")
    assert "'tiny' (3)" in small.message and small.rows == [42, 43, 44]
    imb = by_code(report, "imbalance")
    assert "13:1" in imb.message and "class weights are applied automatically" in imb.fix.lower()
    assert report.can_train and len(report.warnings) == 2


def test_single_class_is_an_error_that_blocks_training():
    report = validate(make(balanced(labels=("spam",))))
    f = by_code(report, "single_class")
    assert f.severity == "error" and "'spam'" in f.message and not report.can_train
    with pytest.raises(UserInputError) as err:
        require_trainable(report)
    assert "'spam'" in err.value.message and "two classes" in err.value.fix
    assert err.value.where == "data.csv"


def test_no_usable_rows_is_an_error():
    report = validate(make([], {"empty_text": [2, 3], "missing_label": [4]}))
    f = by_code(report, "no_rows")
    assert f.severity == "error" and "all 3 rows" in f.message and not report.can_train
    assert "text and label columns" in f.fix


def test_every_label_unique_is_an_error():
    report = validate(make([(f"t{i}", f"id-{i}") for i in range(8)]))
    f = by_code(report, "no_repeated_class")
    assert f.severity == "error" and "ID" in f.fix


def test_long_texts_warning_above_five_percent_and_info_below():
    data = make(balanced(n=10))
    many = validate(data, token_lengths=[600] * 4 + [50] * 16, max_length=512)
    f = by_code(many, "long_texts")
    assert f.severity == "warning" and "20%" in f.message and "512 tokens" in f.message and f.count == 4
    few = by_code(validate(data, token_lengths=[600] + [50] * 19, max_length=512), "long_texts")
    assert few.severity == "info" and few.rows == [2]
    assert "long_texts" not in {x.code for x in validate(data, token_lengths=[50] * 20, max_length=512).findings}


def test_report_json_and_summary_readable():
    report = validate(make(balanced(labels=("only",)), {"empty_text": [9]}))
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["can_train"] is False
    assert {f["code"] for f in as_json["findings"]} == {"single_class", "empty_text"}
    text = report.summary()
    assert text.index("ERROR") < text.index("WARNING") and "Fix:" in text and "Where: row 9" in text


def test_apply_fixes_drop_empty_and_unknown():
    data = make(balanced(), {"empty_text": [40]})
    assert apply_fixes(data, ["drop_empty"]).skipped == {}
    assert data.skipped == {"empty_text": [40]}
    with pytest.raises(ValueError):
        apply_fixes(data, ["make_it_good"])
