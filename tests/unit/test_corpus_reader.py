"""The corpus reader: Parquet text columns that are dictionary-encoded or string views are read as text, and a
.jsonl line nested too deeply to parse is one sentence, not a RecursionError traceback."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attnviz.corpus import reader
from attnviz.corpus.sentences import CorpusError

TEXTS = ["the cat sat", "a dog ran", "birds sing"]


@pytest.mark.parametrize(
    "column",
    [pa.array(TEXTS).dictionary_encode(), pa.array(TEXTS, type=pa.string_view()), pa.array(TEXTS, pa.large_string())],
    ids=["dictionary", "string_view", "large_string"],
)
def test_parquet_text_columns_of_every_text_type_are_read(tmp_path, column):
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"text": column}), path)
    assert [s.text for s in reader.read(path, None, 0, 0, 10)] == TEXTS
    assert [s.text for s in reader.read(path, None, 1, 1, 10)] == TEXTS[1:]


def test_a_dictionary_of_numbers_is_still_refused(tmp_path):
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"text": pa.array([1, 2, 1]).dictionary_encode()}), path)
    with pytest.raises(CorpusError, match="^corpus.parquet: column 'text' holds int64, not text.$"):
        list(reader.read(path, None, 0, 0, 10))


def test_a_deeply_nested_jsonl_line_is_one_sentence(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"text": "fine"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(CorpusError) as raised:
        list(reader.read(path, None, 0, 0, 10))
    assert str(raised.value) == "corpus.jsonl, line 2: JSON nested too deeply to read."
