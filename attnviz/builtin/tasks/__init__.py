"""Synthetic seq2seq tasks with vocabularies, seeded generators and gold alignments."""

from __future__ import annotations

from attnviz.builtin.tasks.base import EOS, Example, Task, TaskInputError, UnknownWordsError, Vocab
from attnviz.builtin.tasks.dates import DatesTask
from attnviz.builtin.tasks.reverse import ReverseTask
from attnviz.builtin.tasks.translate import TranslateTask

TASKS: dict[str, Task] = {task.name: task for task in (ReverseTask(), TranslateTask(), DatesTask())}


def get_task(name: str) -> Task:
    """The task called ``name``, or a ValueError listing the tasks there are."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["EOS", "TASKS", "Example", "Task", "TaskInputError", "UnknownWordsError", "Vocab", "get_task"]
