"""The corpus job: numbers equal to an independent per-sentence computation, resume after a crash, engines and
shard sizes that change no number, bad input refused with one clear sentence."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from corpus_support import WITHIN_1E_6

from attnviz.cli.main import main
from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus import results as corpus_results
from attnviz.corpus.job import one_thread
from attnviz.maps.statistics import STATISTIC_NAMES, head_statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

SENTENCES = [
    "The cat sat on the mat.",
    "Attention is all you need.",
    "A head that looks at the previous token.",
    "Short.",
    "Colourless green ideas sleep furiously.",
    "The quick brown fox jumps over the lazy dog.",
    "Where did the river go after the rain?",
]


@pytest.fixture(scope="module")
def minilm():
    return hf.load()


def write_corpus(path: Path, sentences=SENTENCES) -> Path:
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return path


def shards(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "shards").sort_values(["sentence_id", "layer", "head"]).reset_index(drop=True)


def test_every_row_is_the_sentences_own_statistics(tmp_path, minilm):
    corpus = write_corpus(tmp_path / "c.txt", [SENTENCES[0], "", "   ", SENTENCES[1], "[CLS] [SEP]"])
    summary = corpus_pipeline.run(corpus, tmp_path / "out", corpus_pipeline.Options(shard_size=2), loaded=minilm)
    assert (summary["sentences"], summary["skipped"]) == (2, 1)  # "[CLS] [SEP]" holds only special tokens
    assert summary["notes"] == ["2 empty lines were skipped."]
    rows = shards(tmp_path / "out")
    for sentence_id, text in enumerate(SENTENCES[:2]):
        with one_thread():  # the job's arithmetic: torch's thread count moves the last bit
            attn = extract(minilm, text).primary
        expected = head_statistics(attn)
        mine = rows[rows.sentence_id == sentence_id]
        assert (mine.text == text).all() and (mine.tokens == attn.n_keys).all()
        for name in STATISTIC_NAMES:  # run alone vs in the job's batch: the matrix products round differently
            np.testing.assert_allclose(
                mine[name].to_numpy(), expected[name].reshape(-1), **WITHIN_1E_6[name], err_msg=name
            )
    results = corpus_results.load(tmp_path / "out")
    means = results.means()
    for name in STATISTIC_NAMES:
        np.testing.assert_allclose(
            means[name], rows.groupby(["layer", "head"])[name].mean().to_numpy().reshape(6, 12), atol=1e-8
        )


def test_extremes_are_the_highest_and_lowest_sentences_as_the_search_finds_them(tmp_path, minilm):
    from attnviz.corpus import search

    out = tmp_path / "out"
    corpus_pipeline.run(write_corpus(tmp_path / "c.txt"), out, corpus_pipeline.Options(shard_size=3), loaded=minilm)
    rows, results = shards(out), corpus_results.load(out)
    head = rows[(rows.layer == 0) & (rows["head"] == 2)]
    extremes = results.extremes.query("layer == 0 and head == 2 and statistic == 'previous'")
    for end, ascending in (("highest", False), ("lowest", True)):
        found = extremes[extremes.end == end].sort_values("rank")
        expected = head.sort_values(["previous", "sentence_id"], ascending=[ascending, True])
        assert found.text.tolist() == expected.text.tolist()
        np.testing.assert_array_equal(found.value.to_numpy(), expected.previous.to_numpy())
        page = search.search(out, search.Query("previous", 0, 2, order="desc" if end == "highest" else "asc"))
        assert page.rows.sentence_id.tolist() == found.sentence_id.tolist() and page.total == len(SENTENCES)
    quantiles = results.aggregates.query("layer == 0 and head == 2 and statistic == 'previous'").iloc[0]
    values = np.sort(head.previous.to_numpy())
    assert quantiles["min"] == values[0] and quantiles["max"] == values[-1]
    assert abs(quantiles.q50 - np.quantile(values, 0.5)) <= 1 / corpus_results.HISTOGRAM_BINS + 1e-9


def test_resume_after_a_crash_skips_finished_shards_and_equals_a_clean_run(tmp_path, minilm):
    corpus = write_corpus(tmp_path / "c.txt")
    options = corpus_pipeline.Options(shard_size=2)
    corpus_pipeline.run(corpus, tmp_path / "clean", options, loaded=minilm)

    def crash_after_two_shards(done, total, newly_done):
        if done >= 4:
            raise KeyboardInterrupt  # Ctrl-C, after the second shard was written

    crashed = tmp_path / "crashed"
    with pytest.raises(KeyboardInterrupt):
        corpus_pipeline.run(corpus, crashed, options, loaded=minilm, progress=crash_after_two_shards)
    assert sorted(p.name for p in (crashed / "shards").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    assert not (crashed / "summary.json").exists()
    (crashed / "shards" / "part-00002.tmp-999").write_bytes(b"half a shard")  # a write cut off by the crash
    calls = []
    corpus_pipeline.run(corpus, crashed, options, loaded=minilm, progress=lambda *call: calls.append(call))
    assert calls == [(4, 7, 0), (6, 7, 2), (7, 7, 1)]  # started at 4 done: only shards 2 and 3 ran
    for name in ("part-00000.parquet", "part-00001.parquet", "part-00002.parquet", "part-00003.parquet"):
        assert (crashed / "shards" / name).read_bytes() == (tmp_path / "clean" / "shards" / name).read_bytes()
    for name in ("aggregates", "extremes"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(crashed / f"{name}.parquet"), pd.read_parquet(tmp_path / "clean" / f"{name}.parquet")
        )


def test_the_shard_size_changes_no_number(tmp_path, minilm):
    corpus = write_corpus(tmp_path / "c.txt")
    for size in (2, 5):
        corpus_pipeline.run(corpus, tmp_path / f"s{size}", corpus_pipeline.Options(shard_size=size), loaded=minilm)
    pd.testing.assert_frame_equal(shards(tmp_path / "s2"), shards(tmp_path / "s5"), check_exact=True)
    for name in ("aggregates", "extremes"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "s2" / f"{name}.parquet"), pd.read_parquet(tmp_path / "s5" / f"{name}.parquet")
        )


def test_a_folder_of_another_job_is_refused(tmp_path, minilm):
    corpus = write_corpus(tmp_path / "c.txt")
    corpus_pipeline.run(corpus, tmp_path / "out", corpus_pipeline.Options(shard_size=4), loaded=minilm)
    with pytest.raises(ValueError, match="another job .*shard_size"):
        corpus_pipeline.run(corpus, tmp_path / "out", corpus_pipeline.Options(shard_size=3), loaded=minilm)


def test_jsonl_and_parquet_inputs_give_the_same_rows_as_txt(tmp_path, minilm):
    write_corpus(tmp_path / "c.txt")
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps({"id": i, "body": s}) for i, s in enumerate(SENTENCES)))
    pd.DataFrame({"body": SENTENCES}).to_parquet(tmp_path / "c.parquet", row_group_size=3)
    outs = {}
    for name in ("c.txt", "c.jsonl", "c.parquet"):
        column = None if name.endswith("txt") else "body"
        options = corpus_pipeline.Options(shard_size=2, column=column)
        corpus_pipeline.run(tmp_path / name, tmp_path / name.replace(".", "-"), options, loaded=minilm)
        outs[name] = shards(tmp_path / name.replace(".", "-"))
    pd.testing.assert_frame_equal(outs["c.txt"], outs["c.jsonl"])
    pd.testing.assert_frame_equal(outs["c.txt"], outs["c.parquet"])


def _bad_inputs(tmp_path: Path) -> list[tuple[Path, list[str], str]]:
    tmp_path.joinpath("binary.txt").write_bytes(b"fine\n\x00\x01\x02binary")
    tmp_path.joinpath("latin1.txt").write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    tmp_path.joinpath("empty.txt").write_text("\n  \n\n")
    tmp_path.joinpath("rows.jsonl").write_text('{"text": "a"}\n{"body": "b"}\n')
    tmp_path.joinpath("broken.jsonl").write_text('{"text": "a"}\n{"text": \n')
    pd.DataFrame({"body": ["a"], "n": [1]}).to_parquet(tmp_path / "t.parquet")
    tmp_path.joinpath("fake.parquet").write_text("not parquet")
    tmp_path.joinpath("c.csv").write_text("a,b")
    return [
        (tmp_path / "binary.txt", [], "line 2: a NUL byte. This looks like a binary file"),
        (tmp_path / "latin1.txt", [], "line 2: not UTF-8 text"),
        (tmp_path / "empty.txt", [], "holds no sentences"),
        (tmp_path / "rows.jsonl", [], "line 2: no field 'text'"),
        (tmp_path / "broken.jsonl", [], "line 2: not JSON"),
        (tmp_path / "t.parquet", [], "no column 'text'; its columns: body, n"),
        (tmp_path / "t.parquet", ["--column", "n"], "column 'n' holds int64, not text"),
        (tmp_path / "fake.parquet", [], "is not a Parquet file"),
        (tmp_path / "c.csv", [], "must be a .txt, .jsonl or .parquet file"),
        (tmp_path / "missing.txt", [], "is not a file"),
    ]


def test_bad_input_is_one_clear_line_and_exit_status_2(tmp_path, capsys):
    for path, extra, message in _bad_inputs(tmp_path):
        assert main(["corpus", str(path), "--out", str(tmp_path / "out"), *extra]) == 2, path
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, (path, err)
        assert "Traceback" not in err


def test_a_one_megabyte_line_is_cut_and_said(tmp_path, minilm):
    corpus = write_corpus(tmp_path / "c.txt", ["word " * 200_000, SENTENCES[0]])  # a 1 MB line
    summary = corpus_pipeline.run(corpus, tmp_path / "out", corpus_pipeline.Options(), loaded=minilm)
    assert summary["notes"] == ["1 sentence was cut to 20,000 characters."]
    assert (summary["sentences"], summary["truncated"]) == (2, 1)  # then cut to the model's 512 tokens
    rows = shards(tmp_path / "out")
    assert rows[rows.sentence_id == 0].tokens.iloc[0] == 512
    assert pq.ParquetFile(tmp_path / "out" / "shards" / "part-00000.parquet").metadata.num_rows == 2 * 72


def test_the_app_and_the_local_engine_never_import_ray():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, attnviz.app.corpus, attnviz.cli.corpus, attnviz.corpus.pipeline, attnviz.corpus.results; "
        "assert 'ray' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)
    assert "ray" not in (root / "requirements.txt").read_text().lower()
    assert "-r requirements-ray.txt" in (root / "requirements-dev.txt").read_text()
