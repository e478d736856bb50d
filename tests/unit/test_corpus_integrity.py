"""Corpus data is never mixed, lost or overwritten: concurrent jobs, a rewritten input, foreign folders and
shards, and every failure of the command as one line (issue 31, item 5)."""

import json
import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from test_corpus_job import SENTENCES, write_corpus

from attnviz.cli.main import main
from attnviz.corpus import job as corpus_job
from attnviz.corpus import pipeline as corpus_pipeline
from attnviz.corpus import uploads
from attnviz.corpus.sentences import CorpusError
from attnviz.pretrained import hf

OPTIONS = corpus_pipeline.Options(shard_size=2)
OUTPUTS = ("aggregates.parquet", "extremes.parquet", *(f"shards/part-{k:05d}.parquet" for k in range(4)))


@pytest.fixture(scope="module")
def minilm():
    return hf.load()


@pytest.fixture(scope="module")
def clean(tmp_path_factory, minilm):
    """A clean run of SENTENCES (shard size 2: four shards), to compare against."""
    work = tmp_path_factory.mktemp("clean")
    corpus_pipeline.run(write_corpus(work / "c.txt"), work / "out", OPTIONS, loaded=minilm)
    return work / "out"


def assert_same_files(out: Path, clean: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name


def crash_after_first_shard(done, total, newly_done):
    if done >= 2:
        raise KeyboardInterrupt


def crashed(tmp_path: Path, minilm, corpus: Path) -> Path:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm, progress=crash_after_first_shard)
    return out


def test_four_threads_on_one_folder_end_with_one_complete_job(tmp_path, minilm, clean):
    corpus, out, summaries, errors = write_corpus(tmp_path / "c.txt"), tmp_path / "out", [], []

    def job():
        try:
            summaries.append(corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(repr(error))

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(summaries) == 4 and all(s == summaries[0] for s in summaries)
    assert_same_files(out, clean)
    assert sorted(p.name for p in (out / "shards").iterdir()) == [f"part-{k:05d}.parquet" for k in range(4)]


def test_a_second_job_on_the_folder_waits_for_the_first(tmp_path, minilm):
    corpus, out = write_corpus(tmp_path / "c.txt"), tmp_path / "out"
    first_in, release, seen = threading.Event(), threading.Event(), []

    def hold(done, total, newly_done):
        first_in.set()
        release.wait(60)

    first = threading.Thread(target=lambda: corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm, progress=hold))
    first.start()
    assert first_in.wait(60)
    second = threading.Thread(
        target=lambda: corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm, progress=lambda *c: seen.append(c))
    )
    second.start()
    try:
        second.join(timeout=3)
        assert second.is_alive() and seen == [] and corpus_job.busy(out)  # waiting on the folder's lock
    finally:
        release.set()
        first.join(timeout=300)
        second.join(timeout=300)
    assert seen == [] and not corpus_job.busy(out)  # it found the job complete: nothing to report


def test_atomic_writes_to_one_path_from_many_threads(tmp_path):
    target, errors = tmp_path / "summary.json", []

    def writer(n):
        for round_ in range(50):
            try:
                text = f"{n}-{round_}" * 1000
                corpus_job.write_atomic(target, lambda path, text=text: path.write_text(text))
            except OSError as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and os.listdir(tmp_path) == ["summary.json"]  # no temporary file left behind
    text = target.read_text()
    assert text == text[: len(text) // 1000] * 1000  # one writer's whole text
    assert target.stat().st_mode & 0o777 == 0o666 & ~corpus_job._umask()  # as open() would have made it


def test_a_rewritten_input_is_refused_and_restart_starts_clean(tmp_path, minilm, capsys):
    corpus = write_corpus(tmp_path / "c.txt")
    out = crashed(tmp_path, minilm, corpus)
    assert (
        json.loads((out / "job.json").read_text())["input_sha256"]
        == corpus_job.hashlib.sha256(corpus.read_bytes()).hexdigest()
    )
    rewritten = [s.upper() for s in SENTENCES]  # the same line count
    write_corpus(corpus, rewritten)
    with pytest.raises(CorpusError, match="another job \\(different input_sha256\\).*--restart"):
        corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm)
    assert main(["corpus", str(corpus), "--out", str(out), "--shard-size", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "input_sha256" in err
    corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm, restart=True)
    fresh = tmp_path / "fresh"
    corpus_pipeline.run(write_corpus(tmp_path / "new.txt", rewritten), fresh, OPTIONS, loaded=minilm)
    assert_same_files(out, fresh)  # nothing of the old text is left
    assert "A HEAD" in pd.read_parquet(out / "extremes.parquet").text.str.cat()
    assert "A head" not in pd.read_parquet(out / "shards").text.str.cat()


@pytest.mark.parametrize("foreign", ["summary.json", "aggregates.parquet", "extremes.parquet", "notes.txt"])
def test_a_folder_with_files_but_no_job_json_is_refused_and_left_alone(tmp_path, foreign, capsys):
    corpus, out = write_corpus(tmp_path / "c.txt"), tmp_path / "out"
    out.mkdir()
    (out / foreign).write_text('{"sentences": 3}')
    assert main(["corpus", str(corpus), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {out} is not empty and holds no corpus job.json: give a new or empty --out folder.\n"
    assert os.listdir(out) == [foreign] and (out / foreign).read_text() == '{"sentences": 3}'
    assert main(["corpus", str(corpus), "--out", str(out), "--quiet", "--restart"]) == 2  # never removes them
    assert os.listdir(out) == [foreign]


def test_stray_empty_and_misplaced_shards_are_computed_again(tmp_path, minilm, clean):
    corpus = write_corpus(tmp_path / "c.txt")
    other = tmp_path / "other"  # another corpus's job, the same shard size
    corpus_pipeline.run(write_corpus(tmp_path / "o.txt", SENTENCES[::-1]), other, OPTIONS, loaded=minilm)
    out = crashed(tmp_path, minilm, corpus)
    shards = out / "shards"
    (shards / "part-00001.parquet").write_bytes(b"")  # a 0-byte shard
    (shards / "part-00002.parquet").write_bytes((other / "shards" / "part-00002.parquet").read_bytes())  # stray
    (shards / "part-00003.parquet").write_bytes((shards / "part-00000.parquet").read_bytes())  # wrong range
    calls = []
    corpus_pipeline.run(corpus, out, OPTIONS, loaded=minilm, progress=lambda *call: calls.append(call))
    assert calls == [(2, 7, 0), (4, 7, 2), (6, 7, 2), (7, 7, 1)]  # only shard 0 counted as finished
    assert_same_files(out, clean)


def test_a_disk_error_is_one_line(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "c.txt")
    (tmp_path / "a-file").write_text("x")
    assert main(["corpus", str(corpus), "--out", str(tmp_path / "a-file" / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Not a directory") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["corpus", str(corpus), "--out", str(tmp_path / "a-file"), "--quiet"]) == 2
    expected = f"error: {tmp_path / 'a-file'} is a file, not a folder: give a folder for --out.\n"
    assert capsys.readouterr().err == expected


def test_run_folders_are_private_unpredictable_reused_and_evicted(tmp_path):
    home = uploads.parent(tmp_path)
    assert home == tmp_path / f"attnviz-corpus-{os.getuid()}" and home.stat().st_mode & 0o777 == 0o700
    home.chmod(0o755)
    assert uploads.parent(tmp_path).stat().st_mode & 0o777 == 0o700  # made private again
    first, complete = uploads.run_folder("key", tmp_path)
    again, _ = uploads.run_folder("key", tmp_path)
    assert not complete and first != again and first.name.startswith("key-") and len(first.name) > 8
    assert first.stat().st_mode & 0o777 == 0o700
    (first / uploads.RESULTS).mkdir()
    (first / uploads.RESULTS / "summary.json").write_text("{}")
    assert uploads.run_folder("key", tmp_path) == (first, True)  # a complete one is reused
    busy = home / "busy-1"
    (busy / uploads.RESULTS).mkdir(parents=True)
    for age, folder in enumerate([busy, first, again]):
        os.utime(folder, (1_000 + age, 1_000 + age))  # older than anything made below
    with (busy / uploads.RESULTS / corpus_job.LOCK).open("a") as lock:
        corpus_job.fcntl.flock(lock, corpus_job.fcntl.LOCK_EX)  # a job running there
        made = [uploads.run_folder(f"new{n}", tmp_path, keep=3)[0] for n in range(3)]
    assert sorted(home.iterdir()) == sorted([busy, *made])  # the 3 newest, and the busy one
