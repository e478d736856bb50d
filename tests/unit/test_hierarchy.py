"""The harder documents task (its rules checked by hand), the mean-pooling baseline, held-out documents and
the hierarchy experiment on small sizes."""

import random

import numpy as np
import pytest
import torch

from attnviz.builtin import experiments
from attnviz.builtin.checkpoints import checkpoint_path, load_checkpoint, load_shipped
from attnviz.builtin.experiments import hierarchy
from attnviz.builtin.heldout import fresh_documents, training_documents, training_rng
from attnviz.builtin.models.families import build_model
from attnviz.builtin.models.han import classify, encode
from attnviz.builtin.tasks import documents as docs

BY_HAND = [  # (document, label, evidence sentence, evidence word, mentions that do not decide)
    ("we talked about pizza but then everyone went home", None, None, None, 1),  # contrast cancels pizza
    ("it was not about the song.\nmaybe the match was today.\nthen they talked about rain", "weather", 2, 4, 2),
    ("the soup was today but we talked about the storm", "weather", 0, 9, 1),  # a "but" comes after soup
    ("the team was not home", "sports", 0, 1, 0),  # a negation after the topic word does not cancel it
    ("maybe it was pizza but the band", "music", 0, 6, 1),  # the hedge belongs to the first clause only
    ("no it was the concert but perhaps the snow.\npossibly apples.\nthe coach said no", "sports", 2, 1, 3),
    ("never the tennis", None, None, None, 1),
    ("we talked about the band.\nthey really talked about rain.\nthe concert was today", "weather", 1, 4, 2),
    ("it was not really about the song.\nthe piano was today", "music", 1, 1, 1),  # stress, negated, is cancelled
    ("the guitar.\nthe drums.\nthe piano.\ncertainly the soup but really the race", "sports", 3, 6, 4),
]


@pytest.mark.parametrize("text, label, evidence, word, distractors", BY_HAND)
def test_the_rules_on_documents_checked_by_hand(text, label, evidence, word, distractors):
    gold = docs.reference(docs.parse(text))
    assert (gold.label, gold.evidence, gold.evidence_word) == (label, evidence, word)
    assert docs.distractors(gold.sentences) == distractors


def test_generated_documents_have_one_mention_that_counts_and_it_decides():
    drawn = docs.documents(500, seed=4)
    for document in drawn:
        assert docs.reference(document.sentences) == document  # the rules find the generator's evidence
        levels = {(i, j): docs.level(s, j) for i, s in enumerate(document.sentences) for j in range(len(s))}
        top = max(levels.values())
        assert [at for at, level in levels.items() if level == top] == [(document.evidence, document.evidence_word)]
        assert 1 <= docs.distractors(document.sentences) <= 7
        assert docs.MIN_SENTENCES <= len(document.sentences) <= docs.TRAINED_SENTENCES
    # Counting topic words points the wrong way: the most mentioned topic is rarely the label.
    mentioned = [[docs.TOPIC_OF[w] for s in d.sentences for w in s if w in docs.TOPIC_OF] for d in drawn]
    majority = sum(max(set(m), key=m.count) == d.label for m, d in zip(mentioned, drawn, strict=True)) / len(drawn)
    assert majority < 0.3
    stressed = [d for d in drawn if docs.level(d.sentences[d.evidence], d.evidence_word) == 2]
    assert 0.4 < len(stressed) / len(drawn) < 0.6
    assert {len(d.sentences) for d in docs.documents(5, seed=1, n_sentences=30)} == {30}
    many = docs.documents(20, seed=1, n_sentences=40, n_mentions=30)
    assert all(docs.reference(d.sentences) == d and docs.distractors(d.sentences) >= 30 for d in many)


def test_parse_names_unknown_words_and_caps_the_size():
    with pytest.raises(ValueError, match="vocabulary: played"):
        docs.parse("they played tennis")
    with pytest.raises(ValueError, match=f"at most {docs.MAX_SENTENCES} sentences"):
        docs.parse("the rain.\n" * (docs.MAX_SENTENCES + 1))


def test_held_out_documents_are_disjoint_from_training():
    seen = training_documents()
    first = docs.sample(training_rng("documents", 0)).sentences
    assert first in seen and len(seen) > 10_000
    held_out, skipped = fresh_documents(300, seed=0)
    assert not {d.sentences for d in held_out} & seen and skipped >= 0
    assert [d.sentences for d in held_out[:5]] == [d.sentences for d in docs.documents(5, seed=0)]


def test_the_mean_baseline_is_the_plain_mean_of_the_same_encoders():
    torch.manual_seed(0)
    model = build_model("documents", "han-mean").eval()
    sentences = docs.parse("it was not about the song.\nthe team said that football was today")
    logits, maps = model(encode([sentences]))
    assert maps == {} and not any("attention" in n for n, _ in model.named_parameters())
    with torch.no_grad():
        ids = encode([sentences])[0]  # (S, W), padded as the model sees it
        vectors = [model.word_rnn(model.embed(row[None]))[0][0][row != 0].mean(0) for row in ids]
        states = model.sentence_rnn(torch.stack(vectors)[None])[0][0]
        expected = model.classify(states.mean(0))
    torch.testing.assert_close(logits[0], expected)


def test_the_experiment_on_small_sizes_matches_one_document_at_a_time():
    result = hierarchy.run(n=40, per_length=8, seed=3, lengths=(4, 20), mentions=(2, 30))
    han = load_shipped("documents", "han")
    held_out, _ = fresh_documents(40, seed=3)
    right = [max((c := classify(han, d.sentences)).probabilities, key=c.probabilities.get) == d.label for d in held_out]
    on_evidence = [int(np.argmax(classify(han, d.sentences).sentences.weights)) == d.evidence for d in held_out]
    assert result["models"]["han"]["accuracy"] == pytest.approx(np.mean(right))
    assert result["models"]["han"]["top_sentence_is_evidence"] == pytest.approx(np.mean(on_evidence))
    steps = result["training_steps"]
    assert steps["han"] < steps["han-mean"] and result["learning"]["budget"] == steps["han"]
    assert "top_sentence_is_evidence" not in result["models"]["han-mean"]
    for name in hierarchy.MODELS:
        assert sum(r["n"] for r in result["by_distractors"][name]) == 40
        assert [(r["sentences"], r["n"]) for r in result["by_length"][name]] == [(4, 8), (20, 8)]
        assert [(r["mentions"], r["n"]) for r in result["by_mentions"][name]] == [(2, 8), (30, 8)]
    grouped = {r["distractors"]: r for r in result["by_distractors"]["han"]}
    for k, row in grouped.items():
        group = [r for r, d in zip(right, held_out, strict=True) if docs.distractors(d.sentences) == k]
        assert row["accuracy"] == pytest.approx(np.mean(group))


def test_sampling_a_given_length_uses_its_own_stream():
    one = docs.sample(random.Random("x"), 12)
    assert len(one.sentences) == 12 and docs.reference(one.sentences) == one


def test_the_learning_curves_are_the_checkpoints_and_the_budget_is_the_hans():
    records = {
        "han": {"steps": 150, "validation": [[50, 0.4], [100, 0.9], [150, 0.996]]},
        "han-mean": {"steps": 300, "validation": [[50, 0.3], [100, 0.35], [150, 0.5], [200, 0.99]]},
    }
    learned = hierarchy.learning(records)
    assert learned["budget"] == 150 and learned["at_budget"] == {"han": 0.996, "han-mean": 0.5}
    assert learned["curves"]["han-mean"] == records["han-mean"]["validation"]
    records["han"]["steps"] = 120  # between two checks: the last check at or before it
    assert hierarchy.learning(records)["at_budget"]["han-mean"] == 0.35
    shipped = {name: load_checkpoint(checkpoint_path("documents", name))[1]["train"] for name in hierarchy.MODELS}
    assert experiments.load("hierarchy")["learning"] == hierarchy.learning(shipped)
    assert [step for step, _ in shipped["han"]["validation"]] == list(range(50, shipped["han"]["steps"] + 1, 50))
