import datetime as dt
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.builtin.tasks import TASKS, TaskInputError, UnknownWordsError, get_task
from attnviz.builtin.tasks.dates import MONTHS


@pytest.mark.parametrize("name", list(TASKS))
def test_generator_is_deterministic_per_seed(name):
    task = get_task(name)
    assert task.examples(50, seed=7) == task.examples(50, seed=7)
    assert task.examples(50, seed=7) != task.examples(50, seed=8)


@pytest.mark.parametrize("name", list(TASKS))
def test_examples_are_in_vocabulary_and_their_gold_follows_the_rules(name):
    task = get_task(name)
    for example in task.examples(500, seed=1):
        assert all(t in task.source_vocab.index for t in example.source)
        assert all(t in task.target_vocab.index for t in example.target)
        assert len(example.source) <= task.max_source_len and len(example.target) <= task.max_target_len
        assert task.reference(example.source) == example  # the parser recovers the generator's answer
        assert task.tokenize(task.detokenize(example.source)) == example.source


def test_reverse_alignment_is_the_anti_diagonal():
    example = get_task("reverse").reference(tuple("hello"))
    assert example.target == tuple("olleh")
    assert example.alignment == tuple(frozenset({4 - i}) for i in range(5))


def test_translate_swaps_adjective_and_noun_with_agreement():
    task = get_task("translate")
    example = task.reference(task.tokenize("The red cars see a small cat."))
    assert example.target == ("les", "voitures", "rouges", "voient", "un", "petit", "chat")
    # les<-the, voitures<-cars, rouges<-red: the adjective moved after the noun
    assert example.alignment[:3] == (frozenset({0}), frozenset({2}), frozenset({1}))


def test_translate_one_to_many_and_many_to_one():
    task = get_task("translate")
    past = task.reference(task.tokenize("my friend ate the cake of the dog"))
    assert past.target == ("mon", "ami", "a", "mangé", "le", "gâteau", "du", "chien")
    assert past.alignment[2] == past.alignment[3] == frozenset({2})  # ate -> a mangé
    assert past.alignment[6] == frozenset({5, 6})  # of the -> du
    negative = task.reference(task.tokenize("the girls do not like these hats"))
    assert negative.target == ("les", "filles", "ne", "aiment", "pas", "ces", "chapeaux")
    assert negative.alignment[2] == negative.alignment[4] == frozenset({3})  # not -> ne ... pas


def test_translate_sentence_outside_the_grammar_has_no_reference():
    task = get_task("translate")
    assert task.reference(task.tokenize("cat the sees")) is None
    assert task.reference(task.tokenize("the cat see the dog")) is None  # agreement violated


@pytest.mark.parametrize(
    "text, iso, year_pos, month_pos, day_pos",
    [
        ("monday 23 november 2026", ("2026", "-", "11", "-", "23"), 3, 2, 1),
        ("23/11/26", ("2026", "-", "11", "-", "23"), 4, 2, 0),
        ("nov 23rd 2026", ("2026", "-", "11", "-", "23"), 2, 0, 1),
        ("november 23, 2026", ("2026", "-", "11", "-", "23"), 3, 0, 1),
        ("01.02.1975", ("1975", "-", "02", "-", "01"), 4, 2, 0),
        ("2nd of march 2069", ("2069", "-", "03", "-", "02"), 3, 2, 0),
    ],
)
def test_dates_fields_align_to_their_own_input_word(text, iso, year_pos, month_pos, day_pos):
    task = get_task("dates")
    example = task.reference(task.tokenize(text))
    assert example.target == iso
    assert example.alignment == (
        frozenset({year_pos}),
        frozenset(),
        frozenset({month_pos}),
        frozenset(),
        frozenset({day_pos}),
    )


def test_dates_generated_examples_are_real_dates_with_correct_weekday():
    task = get_task("dates")
    for example in task.examples(300, seed=3):
        date = dt.date.fromisoformat("".join(example.target))
        if example.source[0] in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
            assert example.source[0] == date.strftime("%A").lower()
            assert example.source[2] == MONTHS[date.month - 1]


def test_impossible_date_has_no_reference():
    task = get_task("dates")
    assert task.reference(task.tokenize("31/02/26")) is None


def test_unknown_words_error_names_them_and_the_vocabulary():
    with pytest.raises(UnknownWordsError) as info:
        get_task("translate").tokenize("the cat eats pizza quickly")
    message = str(info.value)
    assert "'pizza'" in message and "'quickly'" in message
    assert "translate task's vocabulary" in message and "the, a, some" in message
    assert info.value.unknown == ["pizza", "quickly"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_asks_for_input(text):
    with pytest.raises(TaskInputError, match="Type some text first"):
        get_task("reverse").tokenize(text)


def test_too_long_input_is_refused_with_the_limit():
    with pytest.raises(TaskInputError, match="at most 12"):
        get_task("reverse").tokenize("a" * 13)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_tokenize_never_fails_unexpectedly(text):
    for task in TASKS.values():
        try:
            tokens = task.tokenize(text)
        except TaskInputError:
            continue
        assert tokens and all(t in task.source_vocab.index for t in tokens)


def test_reverse_accepts_letters_only():
    task = get_task("reverse")
    assert task.tokenize("At ten") == tuple("atten")
    assert set(task.vocabulary()) == set(string.ascii_lowercase)
