"""reverse: spell a word backwards; the gold alignment is the anti-diagonal."""

from __future__ import annotations

import random
import string

from attnviz.builtin.tasks.base import Example, Task


class ReverseTask(Task):
    name = "reverse"
    title = "Reverse letters"
    description = (
        "Spell a word backwards, letter by letter (a-z, 2 to 12 letters; spaces are ignored). "
        "Output letter i comes from input letter n-1-i, so good attention is an anti-diagonal."
    )
    example_text = "attention"
    max_source_len = 12
    max_target_len = 12
    min_len = 2

    def source_words(self) -> list[str]:
        return list(string.ascii_lowercase)

    def target_words(self) -> list[str]:
        return list(string.ascii_lowercase)

    def split(self, text: str) -> list[str]:
        return [c for c in text.lower() if not c.isspace()]

    def detokenize(self, tokens: tuple[str, ...]) -> str:
        return "".join(tokens)

    def sample(self, rng: random.Random) -> Example:
        n = rng.randint(self.min_len, self.max_source_len)
        source = tuple(rng.choice(string.ascii_lowercase) for _ in range(n))
        return self.reference(source)

    def reference(self, source: tuple[str, ...]) -> Example:
        n = len(source)
        alignment = tuple(frozenset({n - 1 - i}) for i in range(n))
        return Example(source=source, target=tuple(reversed(source)), alignment=alignment)
