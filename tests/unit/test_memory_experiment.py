"""The memory experiment (LSTM vs NTM on copy): wrong-bit counting, the baseline, fresh sequences, its page."""

import zlib

import numpy as np
import pytest
import torch

from attnviz.builtin import experiments
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.evaluate import COPY_EVALUATION_SEED, copy_draws, evaluate_copy
from attnviz.builtin.experiments import memory
from attnviz.builtin.heldout import seen_in_copy_training
from attnviz.builtin.models.lstm import CopyLSTM, CopyLSTMConfig
from attnviz.builtin.models.ntm import copy_batch, run_copy
from attnviz.builtin.recipes import VALIDATION_SEED, default_config, recipe

EVAL_SEED = 2026


def test_wrong_bits_counts_bits_on_the_wrong_side_of_zero_per_sequence():
    logits = torch.tensor([[[2.0, -1.0], [0.5, 0.1]], [[-3.0, -0.2], [4.0, -4.0]]])  # (2 sequences, 2 steps, 2 bits)
    targets = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]]])
    # sequence 0: step 1 right, step 2 bit 0 wrong (0.5 > 0 says 1); sequence 1: step 1 both wrong
    assert memory.wrong_bits(logits, targets).tolist() == [1.0, 2.0]


def test_the_lstm_reads_the_copy_format_and_is_at_least_as_large_as_the_ntm():
    lstm = CopyLSTM(CopyLSTMConfig())
    logits, maps = lstm(torch.zeros(3, 2 * 7 + 1, 9))
    assert logits.shape == (3, 15, 8) and maps == {}
    hidden, inputs = 120, 9
    expected = 4 * hidden * (inputs + hidden) + 2 * 4 * hidden + hidden * 8 + 8  # gates, two biases, read-out
    assert sum(p.numel() for p in lstm.parameters()) == expected == 63_848
    ntm = load_shipped("copy", "ntm")
    assert expected >= sum(p.numel() for p in ntm.parameters())


def test_copy_draws_spread_n_over_the_lengths_and_repeat_for_a_seed():
    draws = copy_draws(7, range(1, 4), seed=5)
    assert [(length, len(targets)) for length, _, targets in draws] == [(1, 3), (2, 2), (3, 2)]
    for length, inputs, targets in draws:
        assert inputs.shape == (len(targets), 2 * length + 1, 9) and targets.shape == (len(targets), length, 8)
        np.testing.assert_array_equal(inputs[:, :length, :8], targets)
        assert (inputs[:, length, 8] == 1).all() and (inputs[:, length + 1 :] == 0).all()
    again = copy_draws(7, range(1, 4), seed=5)
    assert all(torch.equal(a[2], b[2]) for a, b in zip(draws, again))


def test_evaluation_seeds_are_not_training_or_validation_seeds():
    config = default_config("ntm")
    assert COPY_EVALUATION_SEED + EVAL_SEED not in (config.seed, VALIDATION_SEED + config.seed)
    assert COPY_EVALUATION_SEED > VALIDATION_SEED + 1000


def _crc_share(sequences) -> list[bool]:
    """The held-out rule computed here on its own: CRC-32 of the sequence's 0/1 bytes divisible by 8."""
    return [zlib.crc32(bytes(int(b) for b in s.reshape(-1))) % 8 == 0 for s in sequences]


def test_training_never_draws_a_held_out_sequence_and_evaluation_draws_only_those():
    config = default_config("ntm")
    stream = recipe("copy", "ntm", config)  # the recipe's own training stream (lengths 1-10 first)
    batches = [stream.next_batch()[1] for _ in range(400)]
    assert {b.shape[1] for b in batches} >= {1, 2}  # the short lengths, where overlap would be likely
    assert not any(any(_crc_share(b.numpy())) for b in batches)
    assert sum(seen_in_copy_training(b.numpy()) for b in batches) == 16 * 400  # all in the training share
    for length, _, targets in copy_draws(200, (1, 2, 3), seed=EVAL_SEED):
        assert all(_crc_share(targets.numpy())) and seen_in_copy_training(targets.numpy()) == 0, length
    ones = copy_draws(1000, [1], seed=EVAL_SEED)[0][2].numpy()
    held = {bytes(int(b) for b in s.reshape(-1)) for s in ones}
    assert len(held) == sum(_crc_share(np.array([[[(v >> i) & 1 for i in range(8)]] for v in range(256)])))


def test_the_experiment_counts_what_run_copy_counts_sequence_by_sequence():
    result = memory.run(lengths=(1, 3, 25), per_length=4, seed=3)
    assert set(result["models"]) == {"ntm", "lstm"} and result["trained_lengths"] == [1, 20]
    ntm = load_shipped("copy", "ntm")
    for row in result["models"]["ntm"]:
        generator = torch.Generator().manual_seed(COPY_EVALUATION_SEED + 3 + 100 * row["length"])
        sequences = copy_batch(4, row["length"], row["length"], 8, generator, held_out=True)[1].numpy()
        wrong = [run_copy(ntm, s).wrong_bits for s in sequences]
        assert row["wrong_bits"] == pytest.approx(np.mean(wrong)) and row["perfect"] == np.mean(np.equal(wrong, 0))
    assert result["parameters"]["lstm"] == 63_848


@pytest.mark.slow
def test_the_shipped_ntm_meets_the_papers_bars_and_the_lstm_does_not():
    ntm = evaluate_copy(load_shipped("copy", "ntm"), "ntm", n=1000, seed=0)  # the stated evaluation
    assert ntm["bit_errors_per_sequence"] <= 0.05 and ntm["longer"]["40"] <= 1.0, ntm
    again = evaluate_copy(load_shipped("copy", "ntm"), "ntm", n=1000, seed=EVAL_SEED)  # docs state this one too
    assert again["sequences_fully_correct"] >= 0.995 and again["longer"]["40"] <= 1.0, again
    lstm = evaluate_copy(load_shipped("copy", "lstm"), "lstm", n=1000, seed=EVAL_SEED)
    assert lstm["longer"]["40"] > 10 * max(ntm["longer"]["40"], 0.1), lstm


def test_the_shipped_results_file_is_the_experiment_on_the_shipped_models():
    shipped = experiments.load("memory")
    lengths = (1, 20, 40)
    again = memory.run(lengths=lengths, per_length=shipped["per_length"], seed=shipped["seed"])
    for name, rows in again["models"].items():
        stored = {r["length"]: r for r in shipped["models"][name]}
        for row in rows:
            assert row == pytest.approx(stored[row["length"]], abs=1e-9), (name, row)


def test_the_ntm_can_run_on_a_smaller_memory_because_no_weight_depends_on_it():
    ntm = load_shipped("copy", "ntm")
    inputs = copy_batch(2, 5, 5, 8, torch.Generator().manual_seed(0))[0]
    _, small, memory = ntm(inputs, slots=32)
    _, full, _ = ntm(inputs)
    assert memory.shape == (2, 11, 32, 16) and small["write"].shape[-1] == 32 and full["write"].shape[-1] == 64
