"""The lecture's arguments for attention, each a measured experiment with a shipped results file.

``python -m attnviz experiment NAME`` runs one, prints its JSON and writes ``attnviz/builtin/results/NAME.json``;
the "Why attention" page reads those files instantly and can rerun the cheap ones with capped sizes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from attnviz.threads import one_thread

ExperimentName = Literal[
    "softmax-scale", "attention-cost", "bottleneck", "accumulation", "heads", "memory", "hierarchy"
]
EXPERIMENT_NAMES: tuple[ExperimentName, ...] = get_args(ExperimentName)
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
COMMANDS: dict[ExperimentName, str] = {name: f"python -m attnviz experiment {name}" for name in EXPERIMENT_NAMES}


def runner(name: str) -> Callable[..., dict]:
    """The ``run`` function of experiment ``name``, on one torch thread (another count can move the last bit
    of a float, and the results files are checked to 1e-9); ValueError listing the experiments there are."""
    if name not in EXPERIMENT_NAMES:
        raise ValueError(f"unknown experiment {name!r}: choose one of {', '.join(EXPERIMENT_NAMES)}")
    run = _modules()[name].run

    @functools.wraps(run)
    def on_one_thread(**options) -> dict:
        with one_thread():
            return run(**options)

    return on_one_thread


def _modules() -> dict:
    """Each experiment's module, imported on first use (they import torch and the models)."""
    from attnviz.builtin.experiments import (
        accumulation,
        attention_cost,
        bottleneck,
        heads,
        hierarchy,
        memory,
        softmax_scale,
    )

    return {
        "softmax-scale": softmax_scale,
        "attention-cost": attention_cost,
        "bottleneck": bottleneck,
        "accumulation": accumulation,
        "heads": heads,
        "memory": memory,
        "hierarchy": hierarchy,
    }


def results_path(name: ExperimentName) -> Path:
    return RESULTS_DIR / f"{name}.json"


def save(name: ExperimentName, result: dict, path: Path | None = None) -> Path:
    """Write ``result`` as the experiment's results file (default: the shipped one)."""
    path = path or results_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return path


def load(name: ExperimentName) -> dict | None:
    """The shipped results of experiment ``name``, or None if there are none yet."""
    path = results_path(name)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
