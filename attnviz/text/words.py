"""Words of a tokenised text: the one grouping of token positions into words, for every tokenizer (pure).

Every word-level view (extraction, generation, two models, attribution) groups tokens here, by these rules:

1. **Boundaries.** A fast tokenizer's own words (its ``word_ids``), the two sentences of a pair kept apart.
   Without them (a generated answer, a slow tokenizer) each token's own mark: where the tokenizer has a
   continuing-subword prefix (WordPiece's ``##``) a token without it starts a word; otherwise a token that
   starts with a space marker (byte-level BPE's ``Ġ``, SentencePiece's ``▁``) does. In both cases a space
   marker inside a word starts a new one (a tokenizer that does not pre-split at spaces, such as Llama's).
2. **Special tokens** ([CLS], </s>, <|endoftext|> ...; not [UNK], which stands for the user's text) are
   words of their own.
3. **Whitespace tokens** (``Ġ``, ``ĠĠ``, ``Ċ``, ``ĠĊ``, ``▁`` alone, ``<0x0A>``): a word made only of them joins
   the word that follows it, as GPT-2's ``Ġcat`` carries the space before it; at the end of a sequence, or
   before a special token, it joins the word before it. One with no word on either side stays a word of its
   own. Their weight is never dropped: it counts for the word they join.
4. **CJK** (Chinese, Japanese, Korean) has no spaces, so a tokenizer's word can be a whole clause: every
   CJK character is a word of its own (:func:`character_words`).
"""

from __future__ import annotations

from collections.abc import Sequence

from attnviz.text.scripts import is_cjk, scripts
from attnviz.text.tokens import is_space

SPACE_MARKERS = ("Ġ", "▁")

Groups = list[list[int]]


def continuing_prefix(tokenizer) -> str | None:
    """The prefix that marks a token continuing a word ('##' for WordPiece), or None."""
    model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    return getattr(model, "continuing_subword_prefix", None) or None


def of_word_ids(word_ids: Sequence[int | None], sequence_ids: Sequence[int | None], tokens: Sequence[str]) -> Groups:
    """Words by a fast tokenizer's ``word_ids()`` and ``sequence_ids()`` (rules 1 to 3 of the module)."""
    groups: Groups = []
    previous = None
    for position, (word, sequence) in enumerate(zip(word_ids, sequence_ids)):
        key = None if word is None else (sequence, word)
        if key is not None and key == previous and not tokens[position].startswith(SPACE_MARKERS):
            groups[-1].append(position)
        else:
            groups.append([position])
        previous = key
    return _attach_spaces(groups, tokens, [word is None for word in word_ids])


def by_marks(tokens: Sequence[str], special: Sequence[bool], continuing: str | None = None) -> Groups:
    """Words by each token's own mark (rules 1 to 3 of the module): ``continuing`` is the tokenizer's
    continuing-subword prefix ('##'), None where words start at a space marker."""
    groups: Groups = []
    for position, token in enumerate(tokens):
        starts = not token.startswith(continuing) if continuing else token.startswith(SPACE_MARKERS)
        after = position > 0 and (special[position - 1] or is_space(tokens[position - 1]))
        if not groups or starts or after or special[position] or is_space(token):
            groups.append([position])
        else:
            groups[-1].append(position)
    return _attach_spaces(groups, tokens, special)


def _attach_spaces(groups: Groups, tokens: Sequence[str], special: Sequence[bool]) -> Groups:
    """Rule 3: each group of whitespace tokens joins the next word, else the word before it, else stays."""
    joined: Groups = []
    pending: list[int] = []  # whitespace waiting for the word after it
    last_is_word = False
    for group in groups:
        is_word = not special[group[0]]
        if is_word and all(is_space(tokens[p]) for p in group):
            pending += group
            continue
        if pending and is_word:
            group = pending + group
        elif pending:
            _put_back(joined, pending, last_is_word)
        pending = []
        joined.append(list(group))
        last_is_word = is_word
    if pending:
        _put_back(joined, pending, last_is_word)
    return joined


def _put_back(joined: Groups, pending: list[int], last_is_word: bool) -> None:
    """Whitespace with no word after it joins the word before it, or is a word of its own."""
    if last_is_word:
        joined[-1].extend(pending)
    else:
        joined.append(list(pending))


def character_words(
    groups: Sequence[Sequence[int]], spans: Sequence[tuple[int, int, int] | None], texts: Sequence[str]
) -> Groups:
    """Split word groups so that each CJK character is a word of its own (other characters keep their words).

    ``spans[p]`` is ``(sequence, start, end)``: the characters of ``texts[sequence]`` that token ``p`` came
    from (None for special tokens). A token covering two characters (or two tokens sharing one character,
    as byte-level tokenizers do) keeps them in one group: a token's attention cannot be split.
    """
    words: Groups = []
    for group in groups:
        last_unit = None
        for index, position in enumerate(group):
            span = spans[position] if position < len(spans) else None
            units = None if span is None else _units(span, texts)
            if index == 0 or (units is not None and last_unit is not None and units[0] > last_unit):
                words.append([position])
            else:
                words[-1].append(position)
            if units is not None:
                last_unit = units[1] if last_unit is None else max(last_unit, units[1])
    return words


def _units(span: tuple[int, int, int], texts: Sequence[str]) -> tuple[tuple, tuple] | None:
    """(first, last) writing unit a span touches: a CJK character is a unit; a run of other characters is one.

    Spaces belong to no unit (None for a token of spaces only: it stays with the word it is in).
    """
    sequence, start, end = span
    text = texts[sequence]
    end = max(start + 1, end)
    while start < end and start < len(text) and text[start].isspace():
        start += 1
    while end > start and end - 1 < len(text) and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return None

    def unit(index: int) -> tuple:
        if index >= len(text) or is_cjk(text[index]):
            return (sequence, index)
        while index > 0 and not is_cjk(text[index - 1]) and not text[index - 1].isspace():
            index -= 1
        return (sequence, index)

    return unit(start), unit(end - 1)


def of_encoding(encoding, texts: Sequence[str] = ()) -> Groups | None:
    """The words of a fast tokenizer's encoding of ``texts`` (the sequences encoded: a text, or a pair);
    None without word ids (a slow tokenizer)."""
    if not (getattr(encoding, "is_fast", False) or hasattr(encoding, "word_ids")):
        return None
    try:
        sequences = encoding.sequence_ids()
        groups = of_word_ids(encoding.word_ids(), sequences, encoding.tokens())
        if "cjk" not in scripts(texts):
            return groups
        chars = [None if s is None else encoding.token_to_chars(i) for i, s in enumerate(sequences)]
        return character_words(
            groups, [None if c is None else (s, c.start, c.end) for s, c in zip(sequences, chars)], texts
        )
    except ValueError:
        return None


def of_ids(tokenizer, ids: Sequence[int], target: bool = False) -> Groups:
    """The words of token ``ids`` that came with no text (a generated answer): the tokenizer's own words where it
    reads the decoded text back to the same ids (special tokens at either end aside, each a word of its own),
    otherwise each token's own mark. ``target``: the ids are an encoder-decoder's target (``text_target``)."""
    ids, specials = list(ids), special_ids(tokenizer)
    special = [i in specials for i in ids]
    inner = [p for p, is_special in enumerate(special) if not is_special]
    if inner and inner == list(range(inner[0], inner[-1] + 1)):
        first, end = inner[0], inner[-1] + 1
        text = tokenizer.decode(ids[first:end])
        encoding = (
            tokenizer(text_target=text, add_special_tokens=False)
            if target
            else tokenizer(text, add_special_tokens=False)
        )
        groups = of_encoding(encoding, (text,)) if list(encoding["input_ids"]) == ids[first:end] else None
        if groups is not None:
            inside = [[p + first for p in group] for group in groups]
            return [[p] for p in range(first)] + inside + [[p] for p in range(end, len(ids))]
    return by_marks(tokenizer.convert_ids_to_tokens(ids), special, continuing_prefix(tokenizer))


def special_ids(tokenizer) -> set[int]:
    """The ids of a tokenizer's special tokens, less its unknown token ([UNK] stands for the user's text)."""
    return set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}


def cut(groups: Groups | None, length: int, offset: int = 0) -> Groups | None:
    """Groups moved by ``offset`` positions and cut to the first ``length``; None stays None."""
    if groups is None:
        return None
    moved = ([p + offset for p in group if p + offset < length] for group in groups)
    return [group for group in moved if group]


def after_start(groups: Groups | None, length: int) -> Groups | None:
    """Groups of a sequence, for the same sequence behind one start token and cut to ``length`` positions."""
    return None if groups is None else [[0], *cut(groups, length, offset=1)]
