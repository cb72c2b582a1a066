"""Stratified, seeded train/validation split and the data fingerprint."""

from __future__ import annotations

from collections import Counter

import pytest

from desktop_app.core.data import LabeledData, fingerprint, split


def make(counts: dict[str, int]) -> LabeledData:
    pairs = [(f"{label} example {i}", label) for label, n in counts.items() for i in range(n)]
    return LabeledData([t for t, _ in pairs], [l for _, l in pairs], list(range(2, len(pairs) + 2)), "d.csv")


def test_split_is_stratified_and_complete():
    data = make({"a": 100, "b": 50, "c": 20})
    train, valid = split(data, 0.2, seed=1)
    assert len(train) + len(valid) == len(data)
    assert set(train.rows).isdisjoint(valid.rows)
    assert Counter(valid.labels) == {"a": 20, "b": 10, "c": 4}
    assert train.rows == sorted(train.rows) and valid.rows == sorted(valid.rows)  # file order kept


def test_split_is_deterministic_per_seed():
    data = make({"a": 30, "b": 30})
    assert split(data, 0.1, seed=7)[1].rows == split(data, 0.1, seed=7)[1].rows
    assert split(data, 0.1, seed=7)[1].rows != split(data, 0.1, seed=8)[1].rows


def test_rare_classes_keep_a_training_example():
    data = make({"a": 40, "pair": 2, "single": 1})
    train, valid = split(data, 0.5, seed=0)
    counts = Counter(train.labels)
    assert counts["single"] == 1 and counts["pair"] >= 1
    assert "single" not in valid.labels


def test_tiny_data_still_gets_a_validation_example():
    train, valid = split(make({"a": 2, "b": 2}), 0.1)
    assert len(valid) == 1 and len(train) == 3
    assert set(train.labels) == {"a", "b"}


def test_invalid_fraction():
    with pytest.raises(ValueError):
        split(make({"a": 3}), 1.0)


def test_fingerprint_stable_and_sensitive():
    data = make({"a": 3, "b": 3})
    assert fingerprint(data) == fingerprint(make({"a": 3, "b": 3}))
    assert len(fingerprint(data)) == 64
    changed = data.subset(range(len(data)))
    changed.labels[0] = "b"
    assert fingerprint(changed) != fingerprint(data)
    assert fingerprint(data.subset(range(5))) != fingerprint(data)


def test_the_validation_part_of_a_run_is_the_rows_it_recorded_and_only_when_it_kept_some():
    from desktop_app.core.data import validation_part

    data = make({"a": 30, "b": 20})
    kept = split(data, 0.2, seed=3)[1]
    record = {"split": {"kind": "stratified", "valid_rows": list(kept.rows), "fingerprint_valid": fingerprint(kept)},
              "data": {"fingerprint_all": fingerprint(data)}, "settings": {"valid_split": 0.2, "seed": 3}}
    part, why = validation_part(record, data)
    assert why == "" and part.rows == kept.rows and part.labels == kept.labels
    other = make({"a": 31, "b": 20})
    assert validation_part(record, other)[0] is None and "not the file this run was trained on" in validation_part(record, other)[1]
    few_shot = {**record, "split": {"kind": "training-rows", "n_valid": 50}}
    part, why = validation_part(few_shot, data)
    assert part is None and "no texts were kept aside" in why and "labeled file" in why
    assert validation_part({**record, "split": {"kind": "none"}}, data)[0] is None  # zero-shot
    on_file = validation_part({**record, "split": {"kind": "file", "path": "valid.csv"}}, data)
    assert on_file[0] is None and "valid.csv" in on_file[1]
