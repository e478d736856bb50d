"""The memory experiment (LSTM vs NTM on copy): wrong-bit counting, the baseline, fresh sequences, its page."""

import numpy as np
import pytest
import torch

from attnviz import experiments
from attnviz.checkpoints import checkpoint_path, load_shipped
from attnviz.evaluate import COPY_EVALUATION_SEED, copy_draws, evaluate_copy
from attnviz.experiments import memory
from attnviz.heldout import copy_training_patterns, pattern_key, seen_in_copy_training
from attnviz.models.lstm import CopyLSTM, CopyLSTMConfig
from attnviz.models.ntm import copy_batch, run_copy
from attnviz.recipes import VALIDATION_SEED, TrainConfig, default_config, recipe

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


def test_the_training_stream_is_regenerated_and_its_sequences_count_as_seen():
    record = torch.load(checkpoint_path("copy", "ntm"), weights_only=True)["train"]
    first_batch = recipe("copy", "ntm", TrainConfig(**record["config"])).next_batch()[1]  # the recipe's own stream
    assert all(pattern_key(s) in copy_training_patterns("ntm") for s in first_batch.numpy())
    assert seen_in_copy_training(first_batch.numpy()) == len(first_batch)
    long = copy_batch(50, 12, 12, 8, torch.Generator().manual_seed(COPY_EVALUATION_SEED))[1]
    assert seen_in_copy_training(long.numpy()) == 0  # 2^96 patterns: fresh ones are never training ones


def test_the_experiment_counts_what_run_copy_counts_sequence_by_sequence():
    result = memory.run(lengths=(1, 3, 25), per_length=4, seed=3)
    assert set(result["models"]) == {"ntm", "lstm"} and result["trained_lengths"] == [1, 20]
    ntm = load_shipped("copy", "ntm")
    for row in result["models"]["ntm"]:
        generator = torch.Generator().manual_seed(COPY_EVALUATION_SEED + 3 + 100 * row["length"])
        sequences = copy_batch(4, row["length"], row["length"], 8, generator)[1].numpy()
        wrong = [run_copy(ntm, s).wrong_bits for s in sequences]
        assert row["wrong_bits"] == pytest.approx(np.mean(wrong)) and row["perfect"] == np.mean(np.equal(wrong, 0))
    assert result["parameters"]["lstm"] == 63_848


@pytest.mark.slow
def test_the_shipped_ntm_meets_the_papers_bars_and_the_lstm_does_not():
    ntm = evaluate_copy(load_shipped("copy", "ntm"), "ntm", n=1000, seed=EVAL_SEED)
    assert ntm["bit_errors_per_sequence"] <= 0.05 and ntm["longer"]["40"] <= 1.0, ntm
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
