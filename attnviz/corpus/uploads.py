"""Folders for the Corpus page's in-process runs: private to this user, reused per corpus, the oldest evicted.

Every run gets a folder made by ``tempfile.mkdtemp`` (mode 0o700, an unpredictable name that starts with
the run's key) under one parent per user, ``<system temp>/attnviz-corpus-<uid>`` (mode 0o700, refused if
another user owns it). A run whose folder is complete is reused. Rule: when a new folder is made, only the
KEEP newest folders (by last use) are kept; an older one is deleted unless a job is running in it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from attnviz.corpus import job as corpus_job
from attnviz.corpus.sentences import CorpusError

KEEP = 8
RESULTS = "results"  # the job's results folder inside a run folder, beside input.txt


def parent(base: Path | None = None) -> Path:
    """This user's private parent of run folders, created if needed."""
    folder = Path(base or tempfile.gettempdir()) / f"attnviz-corpus-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise CorpusError(f"{folder} belongs to another user: remove it, or set TMPDIR to a folder of your own.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
    return folder


def run_folder(key: str, base: Path | None = None, keep: int = KEEP) -> tuple[Path, bool]:
    """(the run folder for ``key``, whether it is complete): a finished one reused, else a new private one."""
    home = parent(base)
    for folder in home.glob(f"{key}-*"):
        if (folder / RESULTS / "summary.json").is_file():
            os.utime(folder)  # used: the newest
            return folder, True
    folder = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=home))
    evict(home, keep)
    return folder, False


def evict(home: Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the ``keep`` most recently used run folders, skipping any a job holds; the ones deleted."""
    folders = sorted((f for f in home.iterdir() if f.is_dir()), key=lambda f: f.stat().st_mtime, reverse=True)
    gone = [f for f in folders[keep:] if not corpus_job.busy(f / RESULTS)]
    for folder in gone:
        shutil.rmtree(folder, ignore_errors=True)
    return gone
