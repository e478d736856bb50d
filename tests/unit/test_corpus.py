import pytest

from attnviz.corpus.sentences import MAX_CHARS, MAX_SENTENCES, CorpusError, parse_upload, sample_sentences


def test_sample_has_about_a_hundred_sentences():
    sentences = sample_sentences()
    assert 90 <= len(sentences) <= 110 and all(s.strip() == s and s for s in sentences)


def test_upload_skips_empty_lines_and_says_so():
    sentences, notes = parse_upload(b"One.\n\n  \nTwo.\r\n")
    assert sentences == ["One.", "Two."] and "2 empty lines" in notes[0]


def test_upload_caps_lines_and_length():
    sentences, notes = parse_upload(("x" * (MAX_CHARS + 5) + "\n").encode() * (MAX_SENTENCES + 3))
    assert len(sentences) == MAX_SENTENCES and len(sentences[0]) == MAX_CHARS
    assert len(notes) == 2


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x01binary", "binary"),
        ("caf\u00e9".encode("latin-1"), "not UTF-8"),
        (b"\n\n", "no sentences"),
        (b"a" * 2_000_001, "at most 2 MB"),
    ],
)
def test_malformed_uploads_are_refused_with_a_reason(data, message):
    with pytest.raises(CorpusError, match=message):
        parse_upload(data)
