"""translate: rule-based English -> French-like sentences whose alignments are not diagonal.

Adjectives move after the noun ("the red car" -> "la voiture rouge") except a few that stay before;
determiners and adjectives agree in gender and number; the past tense is one-to-many ("ate" ->
"a mangé"); negation wraps the verb ("does not eat" -> "ne mange pas"); "of the" contracts, many-to-one,
into "du" / "des".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from attnviz.builtin.tasks.base import Example, Task
from attnviz.builtin.tasks.lexicon import ADJECTIVES, DETERMINERS, NOUNS, OF_CONTRACTIONS, VERBS

SINGULAR = {en_sg: i for i, (en_sg, *_rest) in enumerate(NOUNS)}
PLURAL = {n[1]: i for i, n in enumerate(NOUNS)}
ADJECTIVE = {a[0]: i for i, a in enumerate(ADJECTIVES)}
VERB_FORMS = {form: (i, tense) for i, v in enumerate(VERBS) for form, tense in zip(v[:3], ("base", "3sg", "past"))}
TENSES = ("present", "past", "negative")


@dataclass(frozen=True)
class NounPhrase:
    determiner: str
    adjective: int | None
    noun: int
    plural: bool


@dataclass(frozen=True)
class Sentence:
    subject: NounPhrase
    verb: int
    tense: str
    object: NounPhrase
    of: NounPhrase | None


class Builder:
    """Accumulates English and French tokens with the French -> English alignment."""

    def __init__(self) -> None:
        self.source: list[str] = []
        self.target: list[str] = []
        self.alignment: list[frozenset[int]] = []

    def en(self, word: str) -> int:
        self.source.append(word)
        return len(self.source) - 1

    def fr(self, word: str, *links: int) -> None:
        self.target.append(word)
        self.alignment.append(frozenset(links))


def render(sentence: Sentence) -> Example:
    """The English sentence, its French translation and the gold alignment."""
    b = Builder()
    _noun_phrase(b, sentence.subject)
    _verb(b, sentence)
    _noun_phrase(b, sentence.object)
    if sentence.of is not None:
        _noun_phrase(b, sentence.of, of=b.en("of"))
    return Example(tuple(b.source), tuple(b.target), tuple(b.alignment))


def _noun_phrase(b: Builder, np_: NounPhrase, of: int | None = None) -> None:
    en_sg, en_pl, fr_sg, fr_pl, gender = NOUNS[np_.noun]
    det = b.en(np_.determiner)
    adj = b.en(ADJECTIVES[np_.adjective][0]) if np_.adjective is not None else None
    noun = b.en(en_pl if np_.plural else en_sg)
    agreement = "pl" if np_.plural else gender
    contracted = OF_CONTRACTIONS.get((np_.determiner, agreement)) if of is not None else None
    if contracted:
        b.fr(contracted, of, det)
    else:
        if of is not None:
            b.fr("de", of)
        forms = DETERMINERS[np_.determiner]
        b.fr(forms[2] if np_.plural else forms[0 if gender == "m" else 1], det)
    adj_form = None
    if adj is not None:
        _, forms, before = ADJECTIVES[np_.adjective]
        adj_form = forms[(gender == "f") + 2 * np_.plural]
        if before:
            b.fr(adj_form, adj)
    b.fr(fr_pl if np_.plural else fr_sg, noun)
    if adj is not None and not ADJECTIVES[np_.adjective][2]:
        b.fr(adj_form, adj)


def _verb(b: Builder, s: Sentence) -> None:
    base, third, past, fr_sg, fr_pl, participle = VERBS[s.verb]
    plural = s.subject.plural
    if s.tense == "present":
        b.fr(fr_pl if plural else fr_sg, b.en(base if plural else third))
    elif s.tense == "past":
        verb = b.en(past)
        b.fr("ont" if plural else "a", verb)
        b.fr(participle, verb)
    else:
        does, neg, verb = b.en("do" if plural else "does"), b.en("not"), b.en(base)
        b.fr("ne", neg)
        b.fr(fr_pl if plural else fr_sg, does, verb)
        b.fr("pas", neg)


def _determiners(plural: bool) -> list[str]:
    return [d for d, forms in DETERMINERS.items() if forms[2 if plural else 0] is not None]


def _random_np(rng: random.Random) -> NounPhrase:
    plural = rng.random() < 0.4
    adjective = rng.randrange(len(ADJECTIVES)) if rng.random() < 0.5 else None
    return NounPhrase(rng.choice(_determiners(plural)), adjective, rng.randrange(len(NOUNS)), plural)


def parse(tokens: tuple[str, ...]) -> Sentence | None:
    """Parse English tokens with the task's grammar; None if they don't fit it."""
    subject, i = _parse_np(tokens, 0)
    if subject is None or i >= len(tokens):
        return None
    verb, tense, i = _parse_verb(tokens, i, subject.plural)
    if verb is None:
        return None
    obj, i = _parse_np(tokens, i)
    if obj is None:
        return None
    of = None
    if i < len(tokens) and tokens[i] == "of":
        of, i = _parse_np(tokens, i + 1)
        if of is None:
            return None
    return Sentence(subject, verb, tense, obj, of) if i == len(tokens) else None


def _parse_np(tokens: tuple[str, ...], i: int) -> tuple[NounPhrase | None, int]:
    if i >= len(tokens) or tokens[i] not in DETERMINERS:
        return None, i
    det, i = tokens[i], i + 1
    adjective = ADJECTIVE.get(tokens[i]) if i < len(tokens) else None
    i += adjective is not None
    if i >= len(tokens) or (tokens[i] not in SINGULAR and tokens[i] not in PLURAL):
        return None, i
    plural = tokens[i] in PLURAL
    noun = PLURAL[tokens[i]] if plural else SINGULAR[tokens[i]]
    if det not in _determiners(plural):
        return None, i
    return NounPhrase(det, adjective, noun, plural), i + 1


def _parse_verb(tokens: tuple[str, ...], i: int, plural: bool) -> tuple[int | None, str, int]:
    if tokens[i] in ("does", "do"):
        if tokens[i] != ("do" if plural else "does") or tokens[i + 1 : i + 2] != ("not",):
            return None, "", i
        verb, form = VERB_FORMS.get(tokens[i + 2], (None, "")) if i + 2 < len(tokens) else (None, "")
        return (verb, "negative", i + 3) if form == "base" else (None, "", i)
    verb, form = VERB_FORMS.get(tokens[i], (None, ""))
    if form == "past":
        return verb, "past", i + 1
    if form == ("base" if plural else "3sg"):
        return verb, "present", i + 1
    return None, "", i


class TranslateTask(Task):
    name = "translate"
    title = "English -> French-like"
    description = (
        "Translate a small English grammar (subject, verb, object, optional 'of' phrase) into French-like "
        "sentences. Adjectives move after the noun ('the red car' -> 'la voiture rouge'), words agree in "
        "gender and number, 'ate' becomes 'a mangé', 'does not eat' becomes 'ne mange pas' and 'of the' "
        "becomes 'du': alignments are not just diagonal. A final '.' is ignored."
    )
    example_text = "the small cat does not see the red car of my friend"
    max_source_len = 13
    max_target_len = 13

    def source_words(self) -> list[str]:
        words = list(DETERMINERS) + ["of", "does", "do", "not"]
        words += [w for n in NOUNS for w in n[:2]] + [a[0] for a in ADJECTIVES]
        return words + [w for v in VERBS for w in v[:3]]

    def target_words(self) -> list[str]:
        words = [f for forms in DETERMINERS.values() for f in forms if f]
        words += list(OF_CONTRACTIONS.values()) + ["de", "ne", "pas", "a", "ont"]
        words += [w for n in NOUNS for w in n[2:4]] + [f for a in ADJECTIVES for f in a[1]]
        return words + [w for v in VERBS for w in v[3:]]

    def split(self, text: str) -> list[str]:
        tokens = super().split(text)
        while tokens and tokens[-1] in (".", "!", "?"):
            tokens.pop()
        return tokens

    def sample(self, rng: random.Random) -> Example:
        subject = _random_np(rng)
        verb, tense = rng.randrange(len(VERBS)), rng.choice(TENSES)
        obj = _random_np(rng)
        of = _random_np(rng) if rng.random() < 0.35 else None
        return render(Sentence(subject, verb, tense, obj, of))

    def reference(self, source: tuple[str, ...]) -> Example | None:
        sentence = parse(tuple(source))
        return None if sentence is None else render(sentence)
