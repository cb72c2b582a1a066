"""Training batches: every row once per epoch; grouping by length pads far less than random batches."""

from __future__ import annotations

import random

import numpy as np
import torch

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
    for chunk in (1, 4, 50):
        batches = training_batches(lengths, 32, seed=1, sort_chunk=chunk)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(1 <= len(b) <= 32 for b in batches)
        assert max(lengths[i] for i in batches[0]) == max(lengths)  # the longest batch first: memory errors show at once


def test_grouping_by_length_saves_most_of_the_padding():
    lengths = _lengths()
    real = sum(lengths)
    grouped = _padded(training_batches(lengths, 32, seed=1, sort_chunk=4), lengths)
    random_ = _padded(training_batches(lengths, 32, seed=1, sort_chunk=1), lengths)
    long_run = _padded(training_batches(lengths, 32, seed=1, sort_chunk=50), lengths)
    assert grouped < 1.5 * real  # little padding (chunks of 4 batches sorted by length)
    assert random_ > 1.8 * grouped  # random batches pad almost three times the real tokens
    assert long_run < 1.1 * real < grouped  # chunks of 50 batches: almost none


def test_runs_long_enough_to_converge_sort_larger_chunks():
    from desktop_app.core.batching import sort_chunk_for

    assert sort_chunk_for(375) == 4  # bench_speed's 3 epochs of 4,000 rows: accuracy of random batches
    assert sort_chunk_for(1692) == 50  # banking77's defaults (6 epochs of 9,003 rows): the Trainer's chunks
    assert sort_chunk_for(1692, grouped=False) == 1  # "Batch texts of similar length" off: random batches


def test_batches_change_with_the_epoch_seed_and_repeat_with_the_same_seed():
    lengths = _lengths()
    for chunk in (1, 4, 50):
        assert training_batches(lengths, 32, 5, chunk) == training_batches(lengths, 32, 5, chunk)
        assert training_batches(lengths, 32, 5, chunk) != training_batches(lengths, 32, 6, chunk)


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


def test_the_token_store_cuts_long_texts_exactly_as_each_tokenizer_would(tiny_models, sample_csv):
    """One tokenizing pass, then truncation on token ids: the same ids the tokenizer's own truncation gives,
    closing special token included, for BERT, DistilBERT and RoBERTa."""
    import csv

    from transformers import AutoTokenizer

    texts = [row["text"] for row in csv.DictReader(sample_csv.open(encoding="utf-8"))][:60]
    texts += ["", "word " * 300, "x"]
    for arch, folder in tiny_models.items():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        layout = batching.special_layout(tokenizer)
        assert sum(layout) >= 1, arch  # a start and/or an end token
        whole = [len(x) for x in tokenizer(texts)["input_ids"]]
        for max_length in (8, 32, 128):
            store = batching.tokenize(tokenizer, texts, keep=256)
            assert list(store.full_lengths) == whole
            cut = store.truncated(max_length, layout)
            expected = batching.encode(tokenizer, texts, max_length)
            assert [list(map(int, x)) for x in cut] == [list(map(int, x)) for x in expected], (arch, max_length)
            assert list(cut.full_lengths) == whole  # the length chart still sees how long the texts really are
            assert max(cut.lengths) <= max_length


def test_the_token_store_takes_two_bytes_a_token_and_no_object_per_text(tiny_models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    texts = [f"refund for order {i} please, the parcel was late" for i in range(5000)]
    store = batching.tokenize(tokenizer, texts)
    tokens = int(store.lengths.sum())
    assert store.dtype == np.uint16  # the vocabulary fits in 16 bits
    # 2 bytes a token, plus 8-byte offsets and 4-byte lengths per text (per-text numpy arrays took 112+ bytes each)
    assert store.nbytes <= 2 * tokens + 13 * len(texts) + 64 * (len(texts) // batching.TOKENIZE_CHUNK + 1)
    assert len(store) == 5000 and list(map(int, store[4999])) == tokenizer(texts[4999])["input_ids"]
    batch = batching.collate([store[0], store[1]], 0)
    assert batch["input_ids"].dtype == torch.long and batch["input_ids"][0].tolist() == tokenizer(texts[0])["input_ids"]


def test_the_command_line_lets_go_of_the_texts_once_they_are_tokenized(tiny_models, small_csv, tmp_path):
    """A large file's texts leave memory before training starts (TrainJob.keep_data=False, what `train` uses)."""
    import gc
    import weakref

    from desktop_app.core import training
    from desktop_app.core.data import load_labeled

    data = load_labeled(small_csv).data
    probe = weakref.ref(data)
    seen_during_training = []
    job = training.TrainJob(train=data, out_dir=tmp_path / "run", model=str(tiny_models["bert"]), keep_data=False,
                            settings=TrainSettings(epochs=1, max_length=16, batch_size=16))
    del data

    def on_event(event):
        if event.kind == "step":
            gc.collect()
            seen_during_training.append(probe() is not None)

    result = training.train(job, on_event)
    assert result.status == "finished" and seen_during_training
    assert not any(seen_during_training) and job.train is None
