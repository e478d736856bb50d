"""Synthetic seq2seq tasks with vocabularies, seeded generators and gold alignments."""

from __future__ import annotations

from attnviz.tasks.base import EOS, Example, Task, TaskInputError, UnknownWordsError, Vocab
from attnviz.tasks.dates import DatesTask
from attnviz.tasks.reverse import ReverseTask
from attnviz.tasks.translate import TranslateTask

TASKS: dict[str, Task] = {task.name: task for task in (ReverseTask(), TranslateTask(), DatesTask())}


def get_task(name: str) -> Task:
    """The task called ``name``, or a ValueError listing the tasks there are."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["EOS", "TASKS", "Example", "Task", "TaskInputError", "UnknownWordsError", "Vocab", "get_task"]
