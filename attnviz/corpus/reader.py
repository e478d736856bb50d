"""Corpus files for ``python -m attnviz corpus``, streamed: .txt (a sentence a line), .jsonl or .parquet.

Nothing here holds the corpus. :func:`scan` reads the file once to check it, count its sentences and note
where every shard starts; :func:`read` streams one shard's sentences from that position. Sentences are the
non-empty lines (or values) in file order, numbered from 0; their numbers never depend on the engine.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from attnviz.corpus.sentences import CorpusError

SUFFIXES = (".txt", ".jsonl", ".parquet")
MAX_LINE_CHARS = 20_000  # a longer sentence is cut (the model reads at most its own maximum of tokens anyway)
MAX_JSON_LINE_BYTES = 4_000_000  # a .jsonl line is parsed whole, so it is refused beyond this
CHUNK = 65_536


@dataclass(frozen=True)
class Sentence:
    id: int
    text: str


@dataclass
class Scan:
    """What one pass over the file found: counts, and where each shard's first sentence is."""

    sentences: int = 0
    empty: int = 0  # empty or whitespace-only lines (or null values), skipped
    cut: int = 0  # sentences longer than MAX_LINE_CHARS, cut
    starts: list[int] = field(default_factory=list)  # byte offset (.txt, .jsonl) or row (.parquet) of each shard

    def notes(self) -> list[str]:
        notes = [f"{_count(self.empty, 'empty line')} skipped."] if self.empty else []
        if self.cut:
            notes.append(f"{_count(self.cut, 'sentence')} cut to {MAX_LINE_CHARS:,} characters.")
        return notes


def _count(n: int, thing: str) -> str:
    return f"1 {thing} was" if n == 1 else f"{n:,} {thing}s were"


def scan(path: Path, column: str | None, shard_size: int) -> Scan:
    """Check the whole file and count it; CorpusError with one sentence for the first problem found."""
    result = Scan()
    for position, text in _values(Path(path), column, 0):
        text, was_cut = _clean(text)
        if not text:
            result.empty += 1
            continue
        if result.sentences % shard_size == 0:
            result.starts.append(position)
        result.sentences += 1
        result.cut += was_cut
    if not result.sentences:
        raise CorpusError(f"{Path(path).name} holds no sentences: put one sentence on each line.")
    return result


def digest(path: Path) -> str:
    """The sha256 of the file's bytes, read as a stream."""
    with Path(path).open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read(path: Path, column: str | None, position: int, first_id: int, count: int) -> Iterator[Sentence]:
    """``count`` sentences from ``position`` (a shard's start from :func:`scan`), numbered from ``first_id``."""
    sentence_id = first_id
    for _, text in _values(Path(path), column, position):
        if sentence_id == first_id + count:
            return
        text, _ = _clean(text)
        if text:
            yield Sentence(sentence_id, text)
            sentence_id += 1


def _clean(text: str | None) -> tuple[str, bool]:
    text = (text or "").strip()
    return (text[:MAX_LINE_CHARS].strip(), True) if len(text) > MAX_LINE_CHARS else (text, False)


def _values(path: Path, column: str | None, position: int) -> Iterator[tuple[int, str | None]]:
    """(position, raw text) of every line or value from ``position`` on."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path.name}: the corpus must be a .txt, .jsonl or .parquet file.")
    if not path.is_file():
        raise CorpusError(f"{path} is not a file.")
    if suffix == ".parquet":
        return _parquet_values(path, column or "text", position)
    if suffix == ".jsonl":
        return _jsonl_values(path, column or "text", position)
    if column:
        raise CorpusError("--column is for .jsonl and .parquet files; a .txt file holds one sentence a line.")
    return ((offset, text) for offset, _, text in _lines(path, position, MAX_LINE_CHARS + 1))


def _lines(path: Path, position: int, keep_chars: int) -> Iterator[tuple[int, int, str]]:
    """(byte offset, line number, the line's first ``keep_chars`` characters), checking every byte is UTF-8 text."""
    with path.open("rb") as file:
        file.seek(position)
        offset, number = position, 0
        while True:
            number += 1
            decoder = codecs.getincrementaldecoder("utf-8-sig" if offset == 0 else "utf-8")()
            kept, length, done = [], 0, False
            while not done:
                chunk = file.readline(CHUNK)
                done = not chunk or chunk.endswith(b"\n")
                if b"\x00" in chunk:
                    raise CorpusError(
                        f"{path.name}, line {number}: a NUL byte. This looks like a binary file, not text: "
                        "give a UTF-8 .txt with one sentence a line."
                    )
                try:
                    text = decoder.decode(chunk, final=done)
                except UnicodeDecodeError as error:
                    raise CorpusError(
                        f"{path.name}, line {number}: not UTF-8 text ({error.reason} at byte "
                        f"{offset + length + error.start:,}). Save the file as UTF-8."
                    ) from None
                if sum(map(len, kept)) < keep_chars:
                    kept.append(text)
                length += len(chunk)
            if not length:
                return
            yield offset, number, "".join(kept)[:keep_chars]
            offset += length


def _jsonl_values(path: Path, column: str, position: int) -> Iterator[tuple[int, str | None]]:
    for offset, number, line in _lines(path, position, MAX_JSON_LINE_BYTES):
        if len(line) >= MAX_JSON_LINE_BYTES:
            raise CorpusError(f"{path.name}, line {number}: longer than {MAX_JSON_LINE_BYTES // 1_000_000} MB.")
        if not line.strip():
            yield offset, None
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise CorpusError(f"{path.name}, line {number}: not JSON ({error.msg}).") from None
        except RecursionError:
            raise CorpusError(f"{path.name}, line {number}: JSON nested too deeply to read.") from None
        if not isinstance(record, dict) or column not in record:
            raise CorpusError(
                f"{path.name}, line {number}: no field '{column}'. Name the field that holds the text with --column."
            )
        if record[column] is not None and not isinstance(record[column], str):
            raise CorpusError(f"{path.name}, line {number}: '{column}' is not text.")
        yield offset, record[column]


def _parquet_values(path: Path, column: str, position: int) -> Iterator[tuple[int, str | None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise CorpusError(f"{path.name} is not a Parquet file ({error}).") from None
    names = parquet.schema_arrow.names
    if column not in names:
        raise CorpusError(f"{path.name} has no column '{column}'; its columns: {', '.join(names)}. Use --column.")
    kind = parquet.schema_arrow.field(column).type
    if not _is_text(pa.types.is_dictionary(kind) and kind.value_type or kind):
        raise CorpusError(f"{path.name}: column '{column}' holds {kind}, not text.")
    row = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if row + size <= position:
            row += size
            continue
        for batch in parquet.iter_batches(batch_size=4096, row_groups=[group], columns=[column]):
            for value in batch.column(0).cast(pa.string()).to_pylist():  # dictionary-encoded and views as plain text
                if row >= position:
                    yield row, value
                row += 1


def _is_text(kind) -> bool:
    """Whether an Arrow type is text: string, large_string or string_view."""
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
