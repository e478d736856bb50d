"""The packaged decoder's texts: disjoint shares, and the gold each text defines against the tasks' own definitions."""

import random
import re

import numpy as np
import pytest

from attnviz.builtin.decoder import batches, texts
from attnviz.builtin.decoder.build import VOCABULARY, tokenizer
from attnviz.builtin.tasks import get_task
from attnviz.builtin.tasks.base import is_held_out
from attnviz.maps.analysis import head_patterns, induction_mass, induction_scores, induction_targets
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import head_statistics


@pytest.mark.parametrize("task", texts.TEXT_TASKS)
def test_training_and_held_out_texts_never_meet(task):
    rng = random.Random(1)
    training = {texts.draw(task, rng, held_out=False).prompt for _ in range(3000)}
    held_out = {t.prompt for t in texts.held_out_texts(task, 500)}
    assert not training & held_out
    assert all(is_held_out(p.encode()) for p in held_out) and not any(is_held_out(p.encode()) for p in training)


def test_held_out_texts_are_the_same_every_time():
    assert texts.held_out_texts("dates", 20) == texts.held_out_texts("dates", 20)


def test_reverse_gold_is_the_mirrored_source_letter():
    for text in texts.held_out_texts("reverse", 50):
        characters = ["", *text.text]  # <bos> first, as the tokenizer writes it
        gold = texts.gold(characters)
        word = text.prompt[len("reverse: ") : -len(texts.ARROW)]
        n, first_letter = len(word), 1 + len("reverse: ")
        answer_space = len(text.prompt) + 1  # the query that writes the first reversed letter
        for k in range(n):  # reversed letter k is source letter n - 1 - k
            assert gold[answer_space + k] == {first_letter + n - 1 - k}
            assert characters[first_letter + n - 1 - k] == text.answer[1 + k]
        assert sum(bool(g) for g in gold) == n  # no gold anywhere else (the end has none)


def test_dates_gold_is_each_iso_fields_source_word():
    task = get_task("dates")
    for text in texts.held_out_texts("dates", 50):
        characters = ["", *text.text]
        gold = texts.gold(characters)
        source = task.split(text.prompt[len("dates: ") : -len(texts.ARROW)])
        example = task.reference(tuple(source))
        answer_space = len(text.prompt) + 1
        fields = {0: (0, 4), 2: (5, 7), 4: (8, 10)}  # year, month, day: their characters in yyyy-mm-dd
        for target_index, (start, stop) in fields.items():
            [word] = example.alignment[target_index]
            linked = "".join(characters[p] for p in sorted(gold[answer_space + start]))
            assert linked == source[word]  # the characters of the source word that holds the field
            assert all(gold[answer_space + i] == gold[answer_space + start] for i in range(start, stop))
        assert not gold[answer_space + 4] and not gold[answer_space + 7]  # the dashes come from nowhere


def test_repeat_gold_is_the_induction_target():
    leads = set()
    for text in texts.held_out_texts("repeat", 50):
        period, lead = len(text.answer), len(text.prompt) - len(text.answer)
        leads.add(lead)
        assert text.prompt[lead:] == text.answer and not set(text.prompt[:lead]) & set(text.answer)
        gold = texts.gold(["", *text.text])
        start = 1 + lead + period  # the second copy; position q holds character q - 1
        for query in range(start, start + period):
            assert gold[query] == {query - period + 1}  # the character after this one's occurrence in the first copy
        assert not any(gold[:start])
    assert len(leads) > 10  # lead-ins of many lengths: no fixed offset from <bos> finds the copy


def test_a_repeat_with_a_lead_in_is_found_by_its_tail():
    assert texts.repeat_period("xyzabcabc") == 3
    assert texts.repeat_period("abcabcabc") == 3  # the tail's run, not the whole text's
    assert texts.repeat_period("abab" + "abab") == 2  # a run must be distinct characters
    assert texts.repeat_period("abcabd") is None and texts.repeat_period("aa") is None


def test_other_texts_have_no_gold():
    for text in ("the cat sat on the mat", "abcabd", "reverse: ab1 =>", "dates: 31/02/20 =>", "aa"):
        assert texts.gold(["", *text]) is None, text
    assert texts.gold_of_tokens(["<s>", "the", "Ġcat", "the", "Ġcat"], [True, False, False, False, False]) is None


def test_induction_targets_against_a_hand_count():
    assert induction_targets(list("xabcab")) == [None, None, None, None, 2, 3]
    assert induction_targets(list("aab")) == [None, None, None]  # the previous occurrence just before: none
    assert induction_targets(["<s>", "a", "<s>", "a"], [True, False, True, False]) == [None, None, None, 2]


def _probe(period: int, heads: list[np.ndarray]) -> AttentionMap:
    tokens = [f"t{i}" for i in range(period)] * 2
    return AttentionMap(np.stack(heads)[None], tokens, tokens, "causal")


def test_induction_mass_is_the_probe_score_and_names_the_head():
    period, n = 5, 10
    causal = np.tril(np.ones((n, n)))
    uniform = causal / causal.sum(-1, keepdims=True)
    induction = np.eye(n)[[max(i - period + 1, 0) if i >= period else i for i in range(n)]]
    previous = np.eye(n)[[max(i - 1, 0) for i in range(n)]]
    attn = _probe(period, [uniform, induction, previous])
    np.testing.assert_allclose(induction_mass(attn), induction_scores(attn, period))
    assert induction_mass(attn)[0, 1] == 1.0
    stats = head_statistics(attn) | {"induction": induction_mass(attn)}
    labels = {(p["head"], p["pattern"], p["why"]) for p in head_patterns(stats)}
    assert (
        1,
        "induction",
        "100% of attention on the token after the previous occurrence of the query's token",
    ) in labels
    assert (2, "previous-token", "100% of attention on the previous token") in labels  # row 0 has none: not counted


def test_the_tokenizer_is_one_token_a_character_with_words():
    tok = tokenizer()
    encoding = tok("Reverse: ABC => cba")
    assert tok.convert_ids_to_tokens(encoding["input_ids"])[:3] == ["<bos>", "r", "e"]
    assert len(encoding["input_ids"]) == 1 + len("reverse: abc => cba")
    assert encoding.word_ids()[:11] == [None, *[0] * 8, 1, 1]  # "reverse:" is one word, "Ġabc" the next
    assert tok.decode(encoding["input_ids"], skip_special_tokens=True) == "reverse: abc => cba"
    assert tok.convert_ids_to_tokens(tok("é")["input_ids"]) == ["<bos>", "<unk>"]
    assert len(tok) == len(VOCABULARY) == 4 + len(texts.CHARACTERS)


def test_batches_score_only_answers_and_the_second_copy():
    reverse, repeat = texts.task_text("reverse", "abc"), texts.repeat_text("xyz")
    ids, targets = batches.encode([reverse, repeat])
    tok = tokenizer()
    scored = [tok.convert_ids_to_tokens([t]) for t in targets[0].tolist() if t != batches.IGNORE]
    assert [s[0] for s in scored] == ["Ġ", "c", "b", "a", "<eos>"]
    assert [t for t in targets[1].tolist() if t != batches.IGNORE] == tok("yz", add_special_tokens=False)["input_ids"]


def test_the_train_command_names_the_decoder_or_a_task_and_model():
    from attnviz.cli.main import parser

    for argv, said in (
        (["train"], "train needs --task and --model, or the name of the packaged decoder (attnviz-tiny-gpt)"),
        (["train", "attnviz-tiny-gpt", "--model", "rnn"], "attnviz-tiny-gpt trains on its own texts"),
    ):
        args = parser().parse_args(argv)
        with pytest.raises(SystemExit, match=re.escape(said)):
            args.run(args)
