"""Training batches: every row once per epoch; grouping by length pads far less than random batches."""

from __future__ import annotations

import random

from desktop_app.core import batching
from desktop_app.core.batching import training_batches
from desktop_app.core.settings import TrainSettings


def _lengths(n: int = 2000) -> list[int]:
    rng = random.Random(0)
    return [rng.choice([rng.randint(5, 15), rng.randint(15, 40), rng.randint(40, 128)]) for _ in range(n)]


def _padded(batches, lengths) -> int:
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_both_batch_orders_use_every_row_exactly_once():
    lengths = _lengths(1001)  # not a multiple of the batch size
    for grouped in (True, False):
        batches = training_batches(lengths, 32, seed=1, grouped=grouped)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(1 <= len(b) <= 32 for b in batches)
        assert max(lengths[i] for i in batches[0]) == max(lengths)  # the longest batch first: memory errors show at once


def test_grouping_by_length_saves_most_of_the_padding():
    lengths = _lengths()
    real = sum(lengths)
    grouped = _padded(training_batches(lengths, 32, seed=1, grouped=True), lengths)
    random_ = _padded(training_batches(lengths, 32, seed=1, grouped=False), lengths)
    assert grouped < 1.5 * real  # little padding (chunks of 4 batches sorted by length)
    assert random_ > 1.8 * grouped  # random batches pad almost three times the real tokens


def test_batches_change_with_the_epoch_seed_and_repeat_with_the_same_seed():
    lengths = _lengths()
    for grouped in (True, False):
        assert training_batches(lengths, 32, 5, grouped) == training_batches(lengths, 32, 5, grouped)
        assert training_batches(lengths, 32, 5, grouped) != training_batches(lengths, 32, 6, grouped)


def test_grouping_is_on_by_default_and_survives_a_settings_round_trip():
    assert TrainSettings().group_by_length is True
    off = TrainSettings(group_by_length=False)
    assert TrainSettings.from_dict(off.to_dict()).group_by_length is False
    assert off.explicit() == {"group_by_length": False}


def test_tokenizing_a_large_file_reports_its_progress(tiny_models, small_csv, tmp_path, monkeypatch):
    from desktop_app.core import training
    from desktop_app.core.data import load_labeled
    from desktop_app.core.events import EventLog
    from desktop_app.core.settings import TrainSettings

    monkeypatch.setattr(batching, "TOKENIZE_CHUNK", 16)  # many chunks from 100 rows
    monkeypatch.setattr(training, "TOKENIZE_PROGRESS_S", 0.0)  # report every chunk
    log = EventLog()
    training.train(training.TrainJob(train=load_labeled(small_csv).data, out_dir=tmp_path / "run", model=str(tiny_models["bert"]),
                                     settings=TrainSettings(epochs=1, max_length=16, batch_size=16)), log)
    ticks = [e for e in log.of("progress") if e.message.startswith("Tokenizing")]
    assert len(ticks) >= 4 and ticks[-1].done == ticks[-1].total == 90  # the training part of the 100 rows
    assert [e.done for e in ticks] == sorted(e.done for e in ticks)
