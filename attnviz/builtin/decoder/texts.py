"""The decoder's texts: the built-in ``reverse`` and ``dates`` tasks written as text, and random characters repeated
twice, with the gold that each text defines (no torch here: the pages read the gold too).

``reverse: abc => cba`` and ``dates: 23/11/26 => 2026-11-23`` are a prompt (up to ``=>``) and an answer (a space,
then the task's target). A repeat is a random lead-in, then ``period`` distinct random characters that it does not
hold, then the same again: from the second copy on, the next character is the one after the previous occurrence of
the current one (the induction target). The lead-in's random length leaves no position at which the copy is known to
start, so only that look-up (an induction head) predicts it, not a fixed offset from ``<bos>``.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from attnviz.builtin.tasks import get_task
from attnviz.builtin.tasks.base import is_held_out
from attnviz.maps.analysis import induction_targets

TextTask = Literal["reverse", "dates", "repeat"]
TEXT_TASKS: tuple[TextTask, ...] = get_args(TextTask)
CHARACTERS = " " + string.ascii_lowercase + string.digits + ":=>-/.,"  # every character the tokenizer knows
SPACE = "Ġ"  # the token of a space, as in GPT-2's vocabulary (the app's labels and word grouping know it)
ARROW = " =>"  # ends a task's prompt; the answer is a space and the target
PERIODS = (4, 20)  # a repeat's period: this many distinct characters, drawn uniformly in this range
LEAD_IN = (0, 24)  # a repeat's lead-in: this many random characters (none of the repeated ones), drawn uniformly
Gold = tuple[frozenset[int], ...]  # for each position of a text: the positions of the next character's source


@dataclass(frozen=True)
class Text:
    """One training or held-out text: the prompt the model reads and the answer it must write (then its end)."""

    task: TextTask
    prompt: str
    answer: str  # a task's: " " + target; a repeat's: its second copy (the prompt ends with the first)

    @property
    def text(self) -> str:
        return self.prompt + self.answer


def task_text(task: str, source: Sequence[str]) -> Text:
    """The text of a built-in task's example for ``source`` (its tokens): prompt and gold answer."""
    built = get_task(task)
    example = built.reference(tuple(source))
    return Text(task, f"{task}: {built.detokenize(example.source)}{ARROW}", " " + "".join(example.target))


def repeat_text(characters: str, lead_in: str = "") -> Text:
    """``lead_in``, then ``characters`` twice: the prompt ends with the first copy, the answer is the second."""
    return Text("repeat", lead_in + characters, characters)


def sample(task: TextTask, rng: random.Random) -> Text:
    """One random text of ``task`` (either share: see :func:`draw`)."""
    if task == "repeat":
        characters = "".join(rng.sample(CHARACTERS, rng.randint(*PERIODS)))
        others = [c for c in CHARACTERS if c not in characters]
        return repeat_text(characters, "".join(rng.choices(others, k=rng.randint(*LEAD_IN))))
    return task_text(task, get_task(task).sample(rng).source)


def draw(task: TextTask, rng: random.Random, held_out: bool) -> Text:
    """A random text from the held-out share (``held_out``) or the training share; the shares never meet."""
    while True:
        text = sample(task, rng)
        if is_held_out(text.prompt.encode()) == held_out:
            return text


def held_out_texts(task: TextTask, n: int, seed: int = 0) -> list[Text]:
    """``n`` held-out texts of ``task`` (no training run draws them)."""
    rng = random.Random(f"decoder:{task}:held-out:{seed}")
    return [draw(task, rng, held_out=True) for _ in range(n)]


# ---- gold ----------------------------------------------------------------------------------------------------------
_TASK = re.compile(r"(reverse|dates): (.+) =>")


def gold_of_tokens(tokens: Sequence[str], special: Sequence[bool]) -> Gold | None:
    """:func:`gold` of a map's tokens (``special`` flags them): None unless every other token is one character (a
    character-level model's, such as the packaged decoder's)."""
    characters = ["" if flag else " " if token == SPACE else token for token, flag in zip(tokens, special, strict=True)]
    return gold(characters) if all(len(c) <= 1 for c in characters) else None


def gold(characters: Sequence[str]) -> Gold | None:
    """For each position of a text given character by character (a special token as ``""``): the positions holding
    the character the model should write next, where the text defines it; None when it is none of the decoder's
    texts. reverse: the mirrored source letter; dates: the source word of the ISO field; repeat: the induction
    target (the position after the previous occurrence of the current character)."""
    text = "".join(c if len(c) == 1 else "\0" for c in characters)
    match = _TASK.search(text)
    if match is not None:
        return _task_gold(match, len(text))
    return _repeat_gold(text)


def _task_gold(match: re.Match, length: int) -> Gold | None:
    task, words = get_task(match.group(1)), match.group(2)
    tokens = tuple(task.split(words))
    known = tokens and all(token in task.source_vocab.index for token in tokens)
    example = task.reference(tokens) if known and len(tokens) <= task.max_source_len else None
    if example is None or task.detokenize(example.source) != words:
        return None
    spans = _spans(task, example.source, match.start(2))
    links = [frozenset()] * length
    position = match.end()  # the answer's space: the query that writes the target's first character
    for token, sources in zip(example.target, example.alignment, strict=True):
        for _ in token:
            if position < length:
                links[position] = frozenset(p for j in sources for p in spans[j])
            position += 1
    return tuple(links)


def _spans(task, source: tuple[str, ...], offset: int) -> list[range]:
    """The character positions of each source token in its detokenized text (which starts at ``offset``)."""
    text, spans, cursor = task.detokenize(source), [], 0
    for token in source:
        start = text.index(token, cursor)
        spans.append(range(offset + start, offset + start + len(token)))
        cursor = start + len(token)
    return spans


def _repeat_gold(text: str) -> Gold | None:
    """The induction targets (:func:`attnviz.maps.analysis.induction_targets`) of the second copy of a text that ends
    with a run of distinct characters twice (the longest such run: after any lead-in)."""
    period = repeat_period(text)
    if period is None:
        return None
    start = len(text) - 2 * period
    targets = induction_targets(list(text), [c == "\0" for c in text])
    return tuple(
        frozenset({k}) if k is not None and q >= start + period else frozenset() for q, k in enumerate(targets)
    )


def repeat_period(text: str) -> int | None:
    """The period of the run of distinct characters (at least 2) that ``text`` ends with twice, or None. Only one
    period can fit: a longer one's last copy would hold a character of the shorter run twice."""
    for period in range(len(text) // 2, 1, -1):
        tail = text[len(text) - period :]
        if text[len(text) - 2 * period : len(text) - period] == tail and len(set(tail)) == period and "\0" not in tail:
            return period
    return None
