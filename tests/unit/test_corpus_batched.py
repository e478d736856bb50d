"""The corpus job's batches: sentences of one token length run together, with numbers within 1e-6 of each sentence
run alone, equal whatever the batch size, in sentence order, and resumable in the middle of a shard."""

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from corpus_support import WITHIN_1E_6

from attnviz.corpus import compute
from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus.reader import Sentence
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import STATISTIC_NAMES, batch_statistics, head_statistics, key_punctuation
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from attnviz.threads import one_thread

WORDS = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "because", "it", "was", "tired", ",", "and"]


@pytest.fixture(scope="module")
def minilm():
    return hf.load()


def sentences(n: int, seed: int = 0, longest: int = 9) -> list[str]:
    """Short generated sentences: few lengths, so most share theirs with others (real batches)."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, longest))) for _ in range(n)]


def alone(loaded, text: str) -> dict[str, np.ndarray]:
    with one_thread():
        attn = extract(loaded, text).primary
    windows = hf.layer_windows(loaded.model.config, attn)
    return head_statistics(attn, windows)


@pytest.mark.parametrize("family", ["minilm", "gpt2"])
def test_batched_statistics_equal_each_sentence_run_alone_within_1e_6(family, minilm, tmp_path):
    from hf_models import save_tiny

    loaded = minilm if family == "minilm" else hf.load(str(save_tiny("gpt2", tmp_path / "gpt2")))
    texts = [*sentences(30), "[CLS] [SEP]", "Short."]
    with one_thread():
        found = compute.statistics_of(loaded, [Sentence(i, t) for i, t in enumerate(texts)], False, 512)
    lengths = [c.tokens for c in found if c is not None]
    assert len(set(lengths)) < len(lengths) - 5  # mixed lengths, most of them shared: batches of several
    assert found[30] is None  # only special tokens: nothing to run, as extract says
    for text, computed in zip(texts, found):
        if computed is None:
            continue
        expected = alone(loaded, text)
        assert computed.tokens == len(loaded.tokenizer(text)["input_ids"])
        for name in STATISTIC_NAMES:
            np.testing.assert_allclose(computed.statistics[name], expected[name], **WITHIN_1E_6[name], err_msg=name)


def test_a_sentence_gets_the_same_numbers_in_any_batch_of_its_length(minilm, monkeypatch):
    """What makes the shard size change no number: batches of 2, 3, 5 or 64 sentences give the same bits (a
    sentence alone in its length runs twice in one batch)."""
    texts = [t for t in sentences(200, seed=1, longest=5) if len(minilm.tokenizer(t)["input_ids"]) == 6][:11]
    batch = [Sentence(i, t) for i, t in enumerate(texts)]
    runs = {}
    for size in (2, 3, 5, 64):
        monkeypatch.setattr(compute, "MAX_BATCH", size)
        with one_thread():
            runs[size] = compute.statistics_of(minilm, batch, False, 512)
    with one_thread():
        runs["one"] = compute.statistics_of(minilm, batch[4:5], False, 512) + [None] * 10
    for size, found in runs.items():
        for name in STATISTIC_NAMES:
            np.testing.assert_array_equal(
                found[0 if size == "one" else 4].statistics[name], runs[64][4].statistics[name]
            )


def test_batch_statistics_of_a_batch_equal_each_maps_own():
    rng = np.random.default_rng(0)
    tokens = ("[CLS]", "a", ",", "b", ".", "[SEP]")
    maps = []
    for _ in range(3):
        logits = rng.normal(size=(2, 3, 6, 6))
        weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        special = tuple(rng.random(6) < 0.3)
        maps.append(AttentionMap(weights.astype(np.float32), tokens, tokens, "self", "m", special, special))
    layers = [torch.from_numpy(np.stack([m.weights[layer] for m in maps])) for layer in range(2)]
    special = np.array([m.key_special for m in maps])
    punctuation = np.stack([key_punctuation(tokens)] * 3)
    batched = batch_statistics(layers, special, punctuation, "self")
    for b, attn in enumerate(maps):
        own = head_statistics(attn)
        for name in STATISTIC_NAMES:
            np.testing.assert_allclose(batched[name][b], own[name], atol=1e-7, rtol=0, err_msg=name)


def test_batches_group_equal_lengths_in_order_of_first_appearance():
    assert compute.batches([3, 5, 3, 0, 5, 3, 7], lambda length: 2) == [[0, 2], [5, 5], [1, 4], [6, 6]]
    assert compute.batches([4, 4, 4], lambda length: 1) == [[0], [1], [2]]  # a cap of one: each alone, once


def write(path: Path, texts: list[str]) -> Path:
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def test_rows_keep_sentence_order_and_a_crash_mid_shard_resumes_to_the_same_bytes(tmp_path, minilm, monkeypatch):
    corpus = write(tmp_path / "c.txt", sentences(24, seed=2))
    options = corpus_pipeline.Options(shard_size=12)
    corpus_pipeline.run(corpus, tmp_path / "clean", options, loaded=minilm)
    table = pd.read_parquet(tmp_path / "clean" / "shards" / "part-00001.parquet")
    assert table.sentence_id.is_monotonic_increasing and table.sentence_id.iloc[0] == 12  # as read, not by length
    assert (table.groupby("sentence_id").text.first().tolist()) == sentences(24, seed=2)[12:]

    calls, real = [], compute._batch_statistics

    def crash_in_second_shard(loaded, ids):
        calls.append(ids.shape)
        if len(calls) == 1 + len(compute.batches([len(minilm.tokenizer(t)["input_ids"]) for t in sentences(12, 2)])):
            raise KeyboardInterrupt  # Ctrl-C during shard 1's second batch
        return real(loaded, ids)

    monkeypatch.setattr(compute, "_batch_statistics", crash_in_second_shard)
    with pytest.raises(KeyboardInterrupt):
        corpus_pipeline.run(corpus, tmp_path / "crashed", options, loaded=minilm)
    assert [p.name for p in (tmp_path / "crashed" / "shards").glob("*.parquet")] == ["part-00000.parquet"]
    monkeypatch.setattr(compute, "_batch_statistics", real)
    corpus_pipeline.run(corpus, tmp_path / "crashed", options, loaded=minilm)
    for index in (0, 1):
        name = f"shards/part-{index:05d}.parquet"
        assert (tmp_path / "crashed" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


def test_a_shard_of_one_sentence_and_a_shard_of_all_give_the_same_rows(tmp_path, minilm):
    corpus = write(tmp_path / "c.txt", sentences(24, seed=3))
    for size in (1, 24):  # each sentence alone in its shard, or batched with the others of its length
        corpus_pipeline.run(corpus, tmp_path / f"s{size}", corpus_pipeline.Options(shard_size=size), loaded=minilm)
    one, all_ = (pd.read_parquet(tmp_path / f"s{size}" / "shards") for size in (1, 24))
    pd.testing.assert_frame_equal(one, all_, check_exact=True)  # bit for bit (the default allows 1e-5)
