"""documents: classify a document by the one sentence whose topic mention counts.

Every document has 4 to 16 sentences. Topic words (four topics) turn up in several of them, but one mention
decides, the evidence. A mention is cancelled by

- negation: a negation earlier in its clause ("it was not really about music");
- hedge: a hedge earlier in its clause ("maybe they talked about the concert");
- contrast: a "but" later in its sentence ("we talked about soup but then everyone went home");

and a stressed mention ("they really talked about rain") outranks every plain one. Clauses are the parts of
a sentence between its "but"s. Half the documents stress their evidence and add plain mentions, most of one
decoy topic, so counting topic words points the wrong way; the label is the evidence's topic, and the gold
"right sentence" and "right word" are known for every document.
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
    "the",
    "a",
    "people",
    "said",
    "that",
    "it",
    "was",
    "today",
    "yesterday",
    "they",
    "we",
    "talked",
    "about",
    "many",
    "things",
    "in",
    "town",
    "and",
    "then",
    "went",
    "home",
    "friends",
    "some",
    "everyone",
)
NEGATIONS = ("not", "never", "no")
HEDGES = ("maybe", "perhaps", "possibly")
EMPHASES = ("really", "definitely", "certainly")
CONTRAST = "but"
LABELS = tuple(TOPICS)
TOPIC_OF = {w: t for t, ws in TOPICS.items() for w in ws}
MIN_SENTENCES, TRAINED_SENTENCES = 4, 16  # documents of the task; longer ones are drawn only to test
MAX_MENTIONS = 6  # distractor sentences in a training document: 1 to this
MAX_SENTENCES, MAX_WORDS = 40, 16  # what a user's document may hold
DISTRACTOR_KINDS = ("negated", "hedged", "contrasted")  # the cancelled kinds


@dataclass(frozen=True)
class Document:
    sentences: tuple[tuple[str, ...], ...]
    label: str | None  # None when the rules find no mention that counts (a user's own text)
    evidence: int | None  # index of the deciding sentence
    evidence_word: int | None  # index of the topic word inside it


def vocabulary() -> tuple[str, ...]:
    words = FILLER + NEGATIONS + HEDGES + EMPHASES + (CONTRAST,) + tuple(TOPIC_OF)
    return tuple(dict.fromkeys(words))


def _filler(rng: random.Random, low: int = 2, high: int = 5) -> list[str]:
    return rng.choices(FILLER, k=rng.randint(low, high))


def _mention(rng: random.Random, word: str, *cues: str) -> tuple[list[str], int]:
    """(a clause holding ``word``, preceded in the clause by each cue in turn, the index of ``word``)."""
    clause = _filler(rng)
    at = rng.randrange(len(clause) + 1)
    clause.insert(at, word)
    for cue in reversed(cues):  # the first cue ends up first
        place = rng.randrange(at + 1)
        clause.insert(place, cue)
        at += 1
    return clause, at


def _distractor(rng: random.Random, word: str, kind: str) -> list[str]:
    """A sentence whose mention of ``word`` does not decide: plain (outranked by an emphatic evidence), or
    cancelled by a negation (of an emphatic mention, too), a hedge or a later "but"."""
    if kind == "plain":
        return _mention(rng, word)[0]
    if kind == "negated":
        cues = (rng.choice(NEGATIONS),) + ((rng.choice(EMPHASES),) if rng.random() < 0.5 else ())
        return _mention(rng, word, *cues)[0]
    if kind == "hedged":
        return _mention(rng, word, rng.choice(HEDGES))[0]
    return _mention(rng, word)[0] + [CONTRAST] + _filler(rng)


def _evidence(rng: random.Random, word: str, decoy: str, emphatic: bool) -> tuple[list[str], int]:
    """The evidence sentence and the index of ``word`` in it; half the time a contrasted decoy comes first."""
    head = _mention(rng, decoy)[0] + [CONTRAST] if rng.random() < 0.5 else []
    clause, at = _mention(rng, word, *((rng.choice(EMPHASES),) if emphatic else ()))
    return head + clause, len(head) + at


def sample(rng: random.Random, n_sentences: int | None = None, n_mentions: int | None = None) -> Document:
    """One document (``n_sentences`` long, else 4-16 sentences) with ``n_mentions`` distractor sentences
    (else 1-6; more only to test).

    Half the documents stress their evidence ("really"); their distractors may then be plain mentions, most
    of them of one decoy topic, which the stressed mention outranks however many there are.
    """
    n = n_sentences or rng.randint(MIN_SENTENCES, TRAINED_SENTENCES)
    label = rng.choice(LABELS)
    others_topics = [t for t in LABELS if t != label]
    decoy, emphatic = rng.choice(others_topics), rng.random() < 0.5
    evidence = rng.randrange(n)
    others = [i for i in range(n) if i != evidence]
    count = n_mentions if n_mentions is not None else rng.randint(1, min(MAX_MENTIONS, len(others)))
    mentions = set(rng.sample(others, min(count, len(others))))
    sentences, word = [], 0
    for i in range(n):
        if i == evidence:
            words, word = _evidence(rng, rng.choice(TOPICS[label]), rng.choice(TOPICS[decoy]), emphatic)
        elif i in mentions and emphatic and rng.random() < 0.6:  # a plain mention, mostly of the decoy
            words = _distractor(rng, rng.choice(TOPICS[decoy if rng.random() < 0.85 else label]), "plain")
        elif i in mentions:  # cancelled: mostly another topic, sometimes the label's own
            topic = rng.choice(others_topics) if rng.random() < 0.85 else label
            words = _distractor(rng, rng.choice(TOPICS[topic]), rng.choice(DISTRACTOR_KINDS))
        else:
            words = _filler(rng, 3, 7)
        sentences.append(tuple(words))
    return Document(tuple(sentences), label, evidence, word)


def stream(seed: int, n_sentences: int | None = None, n_mentions: int | None = None) -> random.Random:
    """The seeded stream of held-out documents (one per length and distractor count asked for)."""
    return random.Random(":".join(str(p) for p in ("documents", seed, n_sentences, n_mentions) if p is not None))


def documents(n: int, seed: int, n_sentences: int | None = None, n_mentions: int | None = None) -> list[Document]:
    rng = stream(seed, n_sentences, n_mentions)
    return [sample(rng, n_sentences, n_mentions) for _ in range(n)]


def level(words: tuple[str, ...], j: int) -> int:
    """How much the word at ``j`` counts: 0 for no topic word or a cancelled mention (a negation or hedge
    before it in its clause, or a "but" after it), 2 for a stressed one (an emphasis before it in its clause),
    else 1."""
    if words[j] not in TOPIC_OF:
        return 0
    start = max((i + 1 for i in range(j) if words[i] == CONTRAST), default=0)
    before = words[start:j]
    if any(w in NEGATIONS or w in HEDGES for w in before) or CONTRAST in words[j + 1 :]:
        return 0
    return 2 if any(w in EMPHASES for w in before) else 1


def reference(sentences: tuple[tuple[str, ...], ...]) -> Document:
    """The rules applied to any document: the first of the highest-ranked mentions decides it (none if every
    mention is cancelled)."""
    ranked = [(level(words, j), -i, -j) for i, words in enumerate(sentences) for j in range(len(words))]
    best, i, j = max(ranked, default=(0, 0, 0))
    if best == 0:
        return Document(sentences, None, None, None)
    return Document(sentences, TOPIC_OF[sentences[-i][-j]], -i, -j)


def distractors(sentences: tuple[tuple[str, ...], ...]) -> int:
    """How many topic mentions do not decide (cancelled or outranked)."""
    return sum(w in TOPIC_OF for s in sentences for w in s) - (reference(sentences).label is not None)


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
