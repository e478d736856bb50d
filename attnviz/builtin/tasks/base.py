"""What every synthetic seq2seq task shares: examples with gold alignments, vocabularies, input checks."""

from __future__ import annotations

import random
import re
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)
# One example in HELD_OUT (by the CRC-32 of its bytes) is never drawn for training; evaluation draws only those, so
# training and held-out examples are disjoint by construction (the NTM's copy sequences, the decoder's texts).
HELD_OUT = 8


def is_held_out(data: bytes) -> bool:
    """Whether an example, as bytes, is in the share kept for evaluation."""
    return zlib.crc32(data) % HELD_OUT == 0


class TaskInputError(ValueError):
    """A user's text cannot be fed to a task's model; the message says what to do instead."""


class UnknownWordsError(TaskInputError):
    """The text holds words outside the task's vocabulary."""

    def __init__(self, task_name: str, unknown: list[str], vocabulary: tuple[str, ...]):
        self.unknown = unknown
        shown = ", ".join(repr(w) for w in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        sample = ", ".join(vocabulary[:24])
        super().__init__(
            f"Not in the {task_name} task's vocabulary: {shown}. The built-in model only knows the "
            f"{len(vocabulary)} words of its task, e.g. {sample} ... (see the full vocabulary list)."
        )


@dataclass(frozen=True)
class Example:
    """A source sentence, its gold target, and for each target token the gold source positions."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    alignment: tuple[frozenset[int], ...]

    def __post_init__(self) -> None:
        if len(self.alignment) != len(self.target):
            raise ValueError("alignment needs one entry per target token")
        for links in self.alignment:
            if any(not 0 <= j < len(self.source) for j in links):
                raise ValueError(f"alignment link out of range in {links}")

    def gold_rows(self, output: tuple[str, ...]) -> tuple[frozenset[int], ...] | None:
        """Gold links for each row of a map over ``output`` + <eos>; None if ``output`` is not the gold target."""
        return (*self.alignment, frozenset()) if tuple(output) == self.target else None


class Vocab:
    """Token <-> id, with <pad>=0, <bos>=1, <eos>=2."""

    def __init__(self, words: list[str] | tuple[str, ...]):
        self.tokens = SPECIALS + tuple(w for w in dict.fromkeys(words) if w not in SPECIALS)
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: tuple[str, ...] | list[str]) -> list[int]:
        return [self.index[t] for t in tokens]

    def decode(self, ids: list[int]) -> tuple[str, ...]:
        return tuple(self.tokens[i] for i in ids)


class Task(ABC):
    """A seq2seq task: a seeded generator of examples, vocabularies, and a parser for user text."""

    name: str
    title: str
    description: str
    example_text: str
    max_source_len: int
    max_target_len: int

    def __init__(self) -> None:
        self.source_vocab = Vocab(self.source_words())
        self.target_vocab = Vocab(self.target_words())

    @abstractmethod
    def source_words(self) -> list[str]:
        """Every source token the task can produce."""

    @abstractmethod
    def target_words(self) -> list[str]:
        """Every target token the task can produce."""

    @abstractmethod
    def sample(self, rng: random.Random) -> Example:
        """Draw one random example."""

    @abstractmethod
    def reference(self, source: tuple[str, ...]) -> Example | None:
        """The gold target and alignment for a tokenised source, or None if the rules don't cover it."""

    def split(self, text: str) -> list[str]:
        """Text -> word tokens (lower case, punctuation as its own token)."""
        return re.findall(r"[^\W_]+|[^\w\s]", text.lower())

    def tokenize(self, text: str) -> tuple[str, ...]:
        """User text -> source tokens, or a TaskInputError that says what is wrong."""
        tokens = self.split(text)
        if not tokens:
            raise TaskInputError(f"Type some text first, e.g. “{self.example_text}”.")
        unknown = [t for t in dict.fromkeys(tokens) if t not in self.source_vocab.index]
        if unknown:
            raise UnknownWordsError(self.name, unknown, self.vocabulary())
        if len(tokens) > self.max_source_len:
            raise TaskInputError(
                f"{len(tokens)} tokens is too long for the {self.name} task: its model was trained "
                f"on at most {self.max_source_len}."
            )
        return tuple(tokens)

    def detokenize(self, tokens: tuple[str, ...]) -> str:
        """Tokens -> text a user would type (tokenize(detokenize(t)) == t)."""
        return " ".join(tokens)

    def vocabulary(self) -> tuple[str, ...]:
        """Source words a user may type, in a stable order."""
        return tuple(t for t in self.source_vocab.tokens if t not in SPECIALS)

    def examples(self, n: int, seed: int) -> list[Example]:
        """``n`` examples from a generator seeded with ``seed`` (same seed, same examples)."""
        rng = random.Random(f"{self.name}:{seed}")
        return [self.sample(rng) for _ in range(n)]
