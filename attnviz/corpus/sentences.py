"""Sentences for corpus mode: the built-in sample, or a user's uploaded .txt (one sentence a line)."""

from __future__ import annotations

from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sentences.txt"
MAX_SENTENCES = 500
MAX_CHARS = 1_000
MAX_BYTES = 2_000_000


class CorpusError(ValueError):
    """An uploaded corpus cannot be used; the message says why and what to upload instead."""


def sample_sentences() -> list[str]:
    """The ~100 varied English sentences shipped with attnviz."""
    return [line.strip() for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def parse_upload(data: bytes, max_sentences: int = MAX_SENTENCES) -> tuple[list[str], list[str]]:
    """(sentences, notes) from an uploaded file: UTF-8 text, one sentence a line.

    Empty lines are skipped; over-long lines are cut to MAX_CHARS and files to MAX_SENTENCES, each
    with a note. Binary or non-UTF-8 data raises CorpusError.
    """
    if len(data) > MAX_BYTES:
        raise CorpusError(f"The file is {len(data) / 1e6:.1f} MB; upload at most {MAX_BYTES // 1_000_000} MB of text.")
    if b"\x00" in data:
        raise CorpusError("This looks like a binary file, not text: upload a UTF-8 .txt with one sentence a line.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"The file is not UTF-8 text (byte {error.start}): save it as UTF-8 and upload again."
        ) from None
    lines = [line.strip() for line in text.splitlines()]
    sentences = [line for line in lines if line]
    notes = []
    if not sentences:
        raise CorpusError("The file has no sentences: put one sentence on each line.")
    if len(sentences) < len(lines):
        notes.append(f"{len(lines) - len(sentences)} empty lines were skipped.")
    if any(len(s) > MAX_CHARS for s in sentences):
        notes.append(f"Lines longer than {MAX_CHARS} characters were cut.")
        sentences = [s[:MAX_CHARS] for s in sentences]
    if len(sentences) > max_sentences:
        notes.append(f"Only the first {max_sentences} of {len(sentences)} sentences are used.")
        sentences = sentences[:max_sentences]
    return sentences, notes
