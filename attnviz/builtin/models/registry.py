"""The one place that knows the built-in models, the tasks they are trained on, their maps and kinds.

How each family is built, trained and measured is :mod:`attnviz.builtin.models.families` (one spec a family,
named by a model's ``architecture``); what makes one model of its family is its ``config`` here.

Closed sets are typed ``Literal`` names (as TransformerLens names its head detectors) and listed with
``get_args``; nobody else builds a model name from parts or splits one apart. No torch here: the
registry is read by the app, the command line and the data type alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from attnviz.maps.attention_map import Kind

Score = Literal["additive", "dot", "scaled"]
Architecture = Literal["rnn", "transformer", "ntm", "han", "sat", "vit", "lstm"]
ModelName = Literal[
    "rnn-additive",
    "rnn-dot",
    "rnn-scaled",
    "transformer",
    "ntm",
    "han",
    "rnn-none",
    "sat",
    "vit",
    "transformer-1head",
    "lstm",
    "han-mean",
]
TaskName = Literal["reverse", "translate", "dates", "copy", "documents", "scenes"]
MapName = Literal["temporal", "encoder", "decoder", "cross", "read", "write", "words", "sentences", "spatial"]

SCORES: tuple[Score, ...] = get_args(Score)
ARCHITECTURES: tuple[Architecture, ...] = get_args(Architecture)
MODEL_NAMES: tuple[ModelName, ...] = get_args(ModelName)
TASK_NAMES: tuple[TaskName, ...] = get_args(TaskName)
MAP_NAMES: tuple[MapName, ...] = get_args(MapName)
SEQ2SEQ_TASKS: tuple[TaskName, ...] = ("reverse", "translate", "dates")


@dataclass(frozen=True)
class ModelSpec:
    """A built-in model: what it is, the tasks it is trained on, and the maps it returns (name -> kind)."""

    name: ModelName
    architecture: Architecture
    title: str
    tasks: tuple[TaskName, ...]
    maps: tuple[tuple[MapName, Kind], ...]
    config: tuple[tuple[str, object], ...] = ()  # its family's config fields that make this model (score, heads ...)

    @property
    def score(self) -> Score | None:
        """The RNN's score function (None: no attention, or not an RNN)."""
        return dict(self.config).get("score")

    @property
    def map_names(self) -> tuple[MapName, ...]:
        return tuple(name for name, _ in self.maps)

    def kind(self, map_name: MapName) -> Kind:
        return dict(self.maps)[map_name]


SCORE_TITLES: dict[Score, str] = {"additive": "additive (Bahdanau)", "dot": "dot (Luong)", "scaled": "scaled dot"}
_RNN_NAMES: dict[Score, ModelName] = {"additive": "rnn-additive", "dot": "rnn-dot", "scaled": "rnn-scaled"}
_TRANSFORMER_MAPS: tuple[tuple[MapName, Kind], ...] = (("encoder", "self"), ("decoder", "causal"), ("cross", "cross"))

MODELS: dict[ModelName, ModelSpec] = {
    **{
        name: ModelSpec(
            name,
            "rnn",
            f"RNN, {SCORE_TITLES[score]} attention",
            SEQ2SEQ_TASKS,
            (("temporal", "temporal"),),
            (("score", score),),
        )
        for score, name in _RNN_NAMES.items()
    },
    "transformer": ModelSpec("transformer", "transformer", "tiny Transformer", SEQ2SEQ_TASKS, _TRANSFORMER_MAPS),
    "ntm": ModelSpec(
        "ntm", "ntm", "Neural Turing Machine", ("copy",), (("read", "memory-read"), ("write", "memory-write"))
    ),
    "han": ModelSpec(
        "han", "han", "hierarchical attention network", ("documents",), (("words", "word"), ("sentences", "sentence"))
    ),
    # The bottleneck baseline: the same RNN without attention; its decoder sees only the encoder's final state.
    "rnn-none": ModelSpec("rnn-none", "rnn", "RNN without attention", SEQ2SEQ_TASKS, (), (("score", None),)),
    "sat": ModelSpec("sat", "sat", "Show, Attend and Tell captioner", ("scenes",), (("spatial", "spatial"),)),
    "vit": ModelSpec("vit", "vit", "tiny Vision Transformer", ("scenes",), (("encoder", "self"),)),
    # Multi-head as groups: the tiny Transformer with one head of width 64 instead of four of width 16 (the same
    # parameters). Shipped for reverse only (weights budget).
    "transformer-1head": ModelSpec(
        "transformer-1head",
        "transformer",
        "tiny Transformer, 1 head",
        ("reverse",),
        _TRANSFORMER_MAPS,
        (("n_heads", 1),),
    ),
    # The memory baseline: an LSTM on the copy task with no external memory and no attention (vs the NTM).
    "lstm": ModelSpec("lstm", "lstm", "LSTM without external memory", ("copy",), ()),
    # The HAN's baseline without attention: the same encoders, the mean over words and over sentences.
    "han-mean": ModelSpec(
        "han-mean", "han", "HAN without attention (mean pooling)", ("documents",), (), (("pooling", "mean"),)
    ),
}
# The seq2seq models with attention (the baselines without it return no maps and are listed apart).
SEQ2SEQ_MODELS: tuple[ModelName, ...] = tuple(
    n for n in MODEL_NAMES if MODELS[n].tasks == SEQ2SEQ_TASKS and MODELS[n].maps
)
# The seq2seq baselines without attention (the copy task's LSTM and the HAN's han-mean are the memory and hierarchy
# experiments' baselines, not among them).
NO_ATTENTION_MODELS: tuple[ModelName, ...] = tuple(
    n for n in MODEL_NAMES if not MODELS[n].maps and set(MODELS[n].tasks) <= set(SEQ2SEQ_TASKS)
)
MAP_KINDS: dict[MapName, Kind] = {name: kind for model in MODELS.values() for name, kind in model.maps}


def spec(name: str) -> ModelSpec:
    """The built-in model called ``name``; ValueError listing the models there are."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}")
    return MODELS[name]


def rnn(score: Score) -> ModelName:
    """The RNN that scores with ``score``."""
    if score not in _RNN_NAMES:
        raise ValueError(f"unknown score function {score!r}: choose one of {', '.join(SCORES)}")
    return _RNN_NAMES[score]


def model_name(architecture: str, score: str | None = None) -> ModelName:
    """The model for an architecture (and, for the RNN, a score function; additive by default)."""
    if architecture == "rnn":
        return rnn(score or "additive")
    if score:
        raise ValueError("a score function applies to the rnn model only")
    matches = [m.name for m in MODELS.values() if m.architecture == architecture]
    if not matches:
        raise ValueError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    return matches[0]


def check_pair(task: str, name: str) -> None:
    """ValueError with a plain sentence if model ``name`` is not trained on ``task``."""
    model = spec(name)
    if task not in model.tasks:
        raise ValueError(f"the {model.title} ({name}) is trained on {', '.join(model.tasks)}, not on {task!r}")


def shipped(task: str = "all", architecture: str = "all") -> list[tuple[TaskName, ModelName]]:
    """Every (task, model) with a shipped checkpoint, narrowed to a task and/or an architecture."""
    return [
        (t, m.name)
        for m in MODELS.values()
        for t in m.tasks
        if task in ("all", t) and architecture in ("all", m.architecture)
    ]
