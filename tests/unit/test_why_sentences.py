"""The 'Why attention' page's sentences are pure functions of a results dict: exact text on small made-up results."""

from attnviz.builtin.experiments import sentences


def test_bottleneck_sentence_reads_the_last_trained_length_and_additive_there():
    none = [{"length": 5, "exact_match": 0.9}, {"length": 10, "exact_match": 0.25}, {"length": 20, "exact_match": 0.0}]
    additive = [{"length": 10, "exact_match": 1.0}]
    assert sentences.bottleneck_sentence("reverse", none, additive, longest=10) == (
        "On **reverse**, without attention: **90%** exact at length 5, **25%** at length 10; "
        "with additive attention **100%** there."
    )
    assert sentences.bottleneck_sentence("reverse", none, [], longest=10).endswith("**25%** at length 10.")


def test_memory_sentence_averages_the_trained_lengths_only():
    models = {
        "ntm": [{"length": 1, "wrong_bits": 0.0}, {"length": 2, "wrong_bits": 1.0}, {"length": 4, "wrong_bits": 3.0}],
        "lstm": [{"length": 1, "wrong_bits": 2.0}, {"length": 2, "wrong_bits": 4.0}],
    }
    text = sentences.memory_sentence(models, longest=2, parameters={"ntm": 1234, "lstm": 5678})
    assert text == (
        "Mean wrong bits per sequence on the trained lengths 1-2: NTM **0.500**, LSTM **3.000**. At length 4: "
        "NTM **3.00**, LSTM not measured. Parameters: NTM 1,234, LSTM 5,678."
    )


def test_budget_sentence_is_empty_without_learning_curves_and_says_the_gap_with_them():
    assert sentences.budget_sentence({}) == ""
    learned = {"learning": {"budget": 300, "at_budget": {"han": 0.9, "han-mean": 0.75}}}
    assert sentences.budget_sentence(learned).endswith("**15.0 points** behind.")


def test_heads_sentence_calls_a_small_gap_about_the_same_and_a_falling_distance_redundant():
    common = {"parameters": 1000, "alignment_agreement": 0.5}
    models = {
        "transformer": {**common, "exact_match": 0.995, "mean_distance_between_heads": [0.6, 0.2]},
        "transformer-1head": {**common, "exact_match": 0.99, "mean_distance_between_heads": [None, None]},
    }
    text = sentences.heads_sentence(models)
    assert "Both have the same parameter count (1,000 and 1,000)" in text
    assert "So: about the same exact match" in text and "distance of 0.60, 0.20" in text
    assert text.endswith("the last layer's mostly agree (redundant groups).")
