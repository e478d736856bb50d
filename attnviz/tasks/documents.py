"""documents: classify a short document by the one sentence that decides its topic.

Every document has 3 to 6 sentences. One, the evidence, mentions a topic word plainly ("they played
football today"); the others are distractors, either filler or mentions of other topics that are negated
("it was not about music"). The label is the evidence sentence's topic, so the gold "right sentence"
and "right word" are known for every document.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

TOPICS = {
    "sports": ("football", "tennis", "match", "goal", "team", "race", "coach", "stadium"),
    "music": ("guitar", "concert", "song", "piano", "band", "album", "singer", "drums"),
    "food": ("pizza", "bread", "soup", "cheese", "recipe", "kitchen", "dinner", "apples"),
    "weather": ("rain", "storm", "snow", "sunshine", "wind", "clouds", "thunder", "fog"),
}
FILLER = (
    "the", "a", "people", "said", "that", "it", "was", "today", "yesterday", "they", "we", "talked",
    "about", "many", "things", "in", "town", "and", "then", "went", "home", "friends", "some", "everyone",
)  # fmt: skip
NEGATIONS = ("not", "never", "no")
LABELS = tuple(TOPICS)
MAX_SENTENCES, MAX_WORDS = 6, 10


@dataclass(frozen=True)
class Document:
    sentences: tuple[tuple[str, ...], ...]
    label: str | None  # None when the rules find no evidence (a user's own text)
    evidence: int | None  # index of the deciding sentence
    evidence_word: int | None  # index of the topic word inside it


def vocabulary() -> tuple[str, ...]:
    return tuple(dict.fromkeys(FILLER + NEGATIONS + tuple(w for ws in TOPICS.values() for w in ws)))


def sample(rng: random.Random) -> Document:
    n = rng.randint(3, MAX_SENTENCES)
    label = rng.choice(LABELS)
    evidence = rng.randrange(n)
    sentences, word = [], None
    for i in range(n):
        filler = [rng.choice(FILLER) for _ in range(rng.randint(3, 6))]
        if i == evidence:
            word = rng.randrange(len(filler) + 1)
            filler.insert(word, rng.choice(TOPICS[label]))
        elif rng.random() < 0.6:  # a negated mention of another topic
            other = rng.choice([t for t in LABELS if t != label])
            at = rng.randrange(len(filler) + 1)
            filler[at:at] = [rng.choice(NEGATIONS), rng.choice(TOPICS[other])]
        sentences.append(tuple(filler))
    return Document(tuple(sentences), label, evidence, word)


def documents(n: int, seed: int) -> list[Document]:
    rng = random.Random(f"documents:{seed}")
    return [sample(rng) for _ in range(n)]


def reference(sentences: tuple[tuple[str, ...], ...]) -> Document:
    """The rules applied to any document: the first topic word with no negation before it in its sentence."""
    for i, words in enumerate(sentences):
        for j, word in enumerate(words):
            topic = next((t for t, ws in TOPICS.items() if word in ws), None)
            if topic and not any(w in NEGATIONS for w in words[:j]):
                return Document(sentences, topic, i, j)
    return Document(sentences, None, None, None)


def parse(text: str) -> tuple[tuple[str, ...], ...]:
    """A user's document: sentences end at '.', '!', '?' or a new line; words are lower-cased.

    Raises ValueError with a plain sentence for empty text, unknown words or too many sentences/words.
    """
    sentences = [tuple(re.findall(r"[^\W\d_]+", s.lower())) for s in re.split(r"[.!?\n]+", text)]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError("Type a document first: a few short sentences, one topic word among them.")
    known = set(vocabulary())
    unknown = sorted({w for s in sentences for w in s if w not in known})
    if unknown:
        raise ValueError(
            f"Not in the documents task's vocabulary: {', '.join(unknown[:10])}. Use its words: "
            f"{', '.join(vocabulary())}."
        )
    if len(sentences) > MAX_SENTENCES or max(len(s) for s in sentences) > MAX_WORDS:
        raise ValueError(f"Keep to at most {MAX_SENTENCES} sentences of at most {MAX_WORDS} words.")
    return tuple(sentences)
