"""A browser that never answers, for the render time limit: kaleido.Kaleido's shape, a shell and its child in a
process group of their own (as choreographer starts chromium), and a render that waits forever."""

import asyncio
import os
import subprocess
from pathlib import Path


def group(pgid: int) -> set[int]:
    """The live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(stat.parent.name))
    return members


class HangingBrowser:
    started: list[int] = []  # the process group of each browser opened
    groups: list[set[int]] = []  # its live members while the render hung

    def __init__(self, **options):
        self.options = options

    async def __aenter__(self):
        self.subprocess = subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600"], start_new_session=True)
        HangingBrowser.started.append(self.subprocess.pid)
        return self

    async def __aexit__(self, *exc):
        return None

    async def calc_fig(self, *args, **kwargs):
        await asyncio.sleep(0.3)  # the child is forked by then
        HangingBrowser.groups.append(group(os.getpgid(self.subprocess.pid)))
        await asyncio.Event().wait()
