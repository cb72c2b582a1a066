"""One tokenizing pass: the app measures the open data's token lengths with the engine's own
``batching.tokenize`` (remember=True), and training those texts in the same process reuses the ids."""

from __future__ import annotations

from desktop_app.core import batching
from desktop_app.core.data import load_labeled
from desktop_app.core.settings import TrainSettings
from desktop_app.core.training import TrainJob, train


def whole_text_passes(monkeypatch) -> list[int]:
    """Counts the texts tokenized whole (no truncation) from now on."""
    seen: list[int] = []
    original = batching._whole_texts

    def counting(tokenizer, texts):
        seen.append(len(texts))
        return original(tokenizer, texts)

    monkeypatch.setattr(batching, "_whole_texts", counting)
    return seen


def test_training_reuses_the_ids_measured_for_the_length_chart(tiny_models, small_csv, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    batching.forget_remembered()
    data = load_labeled(small_csv).data
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    passes = whole_text_passes(monkeypatch)
    ids = batching.tokenize(tokenizer, data.texts, remember=True)  # what the Data page's length chart does
    assert passes == [len(data)]
    lengths = [len(x) for x in ids]

    result = train(TrainJob(train=data, out_dir=tmp_path / "run", model=str(tiny_models["bert"]),
                            settings=TrainSettings(epochs=1, batch_size=16)))
    assert result.status == "finished"
    assert passes == [len(data)]  # training tokenized no text whole again
    # the engine chose its max length from the very lengths the chart shows (its training part of them)
    from desktop_app.core.defaults import max_length_for

    valid_rows = set(result.record.split["valid_rows"])
    train_lengths = [n for n, row in zip(lengths, data.rows) if row not in valid_rows]
    assert len(train_lengths) == len(data) - len(valid_rows)
    assert result.settings["max_length"] == max_length_for(train_lengths, 64)[0]

def test_other_texts_or_another_tokenizer_are_tokenized_afresh(tiny_models, monkeypatch):
    from transformers import AutoTokenizer

    batching.forget_remembered()
    bert = AutoTokenizer.from_pretrained(tiny_models["bert"])
    roberta = AutoTokenizer.from_pretrained(tiny_models["roberta"])
    texts = ["my invoice shows a double charge", "the app crashes"]
    passes = whole_text_passes(monkeypatch)
    first = batching.tokenize(bert, texts, remember=True)
    again = batching.tokenize(bert, texts[:1])  # a subset (the training part of a split): from the cache
    assert passes == [2] and list(again[0]) == list(first[0])
    batching.tokenize(roberta, texts)  # another tokenizer
    batching.tokenize(bert, texts + ["new text"])  # a text never measured
    assert passes == [2, 2, 3]
    batching.forget_remembered()
    batching.tokenize(bert, texts)
    assert passes == [2, 2, 3, 2]
