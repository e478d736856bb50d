"""Limits of the app, and who may lift them: safe by default for visitors from other machines.

``ATTNVIZ_HOSTED`` chooses the mode:

- unset, empty or ``auto`` (the default): the *operator*, a browser on the server's own machine connected
  straight over loopback, may load any model or local folder with the local limits; every other
  visitor gets the hosted limits and the model allow-list. A request that came through a proxy
  (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``) never counts as the operator, even from loopback.
- ``1`` / ``true`` / ``yes``: everybody gets the hosted limits (a public demo).
- ``0`` / ``false`` / ``no``: everybody is the operator (an explicit opt-in, for a trusted network).

Any other value stops the app at start with :class:`SettingError`. ``ATTNVIZ_ALLOWED_MODELS``
(comma-separated) adds to the allow-list. trust_remote_code is never enabled, for anybody.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the packaged, offline default (attnviz.pretrained.hf re-exports it); here so that
# reading the settings never imports torch (the home page needs neither)

Mode = Literal["auto", "hosted", "local"]
MODES: dict[str, Mode] = {
    "": "auto",
    "auto": "auto",
    "1": "hosted",
    "true": "hosted",
    "yes": "hosted",
    "0": "local",
    "false": "local",
    "no": "local",
}
FORWARDING_HEADERS = frozenset({"x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host"})
HOSTED_MODELS = (
    DEFAULT_MODEL,
    "bert-base-uncased",
    "distilbert-base-uncased",
    "roberta-base",
    "gpt2",
    "distilgpt2",
    "t5-small",
    "facebook/bart-base",
    "Helsinki-NLP/opus-mt-en-fr",
    "Helsinki-NLP/opus-mt-en-de",
)


LONG_STORE_MB = 2_048  # long-input page: results kept per process (queries, keys, masks, thumbnails), oldest out


class SettingError(ValueError):
    """An environment setting holds a value attnviz does not know; the message says which ones it does."""


@dataclass(frozen=True)
class Limits:
    hosted: bool  # the hosted limits apply to this visitor
    max_text_chars: int  # longer text is cut, with a notice (text, sentence pair and target boxes alike)
    max_tokens: int  # the model reads at most this many tokens (and at most its own maximum)
    max_corpus_sentences: int
    allowed_models: tuple[str, ...] | None  # None: any Hub id or local folder
    max_task_chars: int = 200  # built-in task input (the tasks' sentences are short)
    max_document_chars: int = 2_000  # the hierarchical page's document
    max_copy_length: int = 40  # the NTM page's pattern (trained lengths 1-20 and twice that)
    max_attention_mb: int = 2_048  # attention maps of one input, estimated before the model runs
    max_image_bytes: int = 50_000_000  # an uploaded image, refused by size before it is read
    max_image_pixels: int = 100_000_000  # and by its width x height before it is decoded
    max_experiment_examples: int = 100  # 'why attention' reruns: examples per source length
    max_cost_length: int = 512  # 'why attention' reruns: longest sequence timed for self-attention cost
    max_memory_length: int = 60  # 'why attention' reruns: longest sequence the NTM and the LSTM copy (64 slots)
    max_long_tokens: int = 32_768  # long-input page: tokens read (and at most the model's own maximum)
    max_long_chars: int = 400_000  # long-input page: characters of pasted or uploaded text
    max_long_upload_bytes: int = 1_600_000  # long-input page: a .txt upload, refused by size before it is read
    max_figure_side_px: int = 4_000  # an exported figure (SVG/PDF/PNG): each side, in layout pixels (96 an inch)
    max_figure_pixels: int = 40_000_000  # and an exported PNG's own pixels (width x height x (dpi / 96)^2)
    max_ig_steps: int = 256  # attribution page: integrated-gradients steps (each a forward and backward pass)
    max_attribution_tokens: int = 512  # attribution page: tokens of the text (and at most the model's own maximum)
    max_new_tokens: int = 64  # generation page: tokens generated, or tokens of a typed answer fed in


def mode() -> Mode:
    """The mode ``ATTNVIZ_HOSTED`` asks for; SettingError for a value that means nothing here."""
    raw = os.environ.get("ATTNVIZ_HOSTED", "")
    if raw.strip().lower() not in MODES:
        raise SettingError(
            f"ATTNVIZ_HOSTED={raw!r} is not a setting attnviz knows. Use 1 (a public demo: everybody gets the "
            "hosted limits), 0 (everybody may load any model or folder), or leave it unset (only a browser on "
            "this machine may)."
        )
    return MODES[raw.strip().lower()]


def torch_threads() -> int:
    """Threads torch may use for one forward pass in the app (``ATTNVIZ_TORCH_THREADS``, default 1).

    The server runs one forward pass per session at a time, several sessions at once: one thread each keeps
    the cores busy without oversubscribing them (measured on 2 busy cores: MiniLM on a short sentence took
    0.08 s with 1 thread and 0.4-0.8 s with 2, whose OpenMP workers spin while they wait for a core).
    """
    raw = os.environ.get("ATTNVIZ_TORCH_THREADS", "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise SettingError(
            f"ATTNVIZ_TORCH_THREADS={raw!r} is not a number of threads: use a whole number from 1 to 256."
        )
    return int(raw)


Softmax = Literal["torch", "compiled", "c"]
SOFTMAXES: dict[str, Softmax] = {"": "torch", "torch": "torch", "compiled": "compiled", "c": "c"}


def softmax() -> Softmax:
    """The softmax of the long-input extraction (``ATTNVIZ_SOFTMAX``: ``torch``, the default, ``compiled`` or
    ``c``; docs/long.md measures them); SettingError for any other value, or for the retired ``ATTNVIZ_NATIVE``."""
    if os.environ.get("ATTNVIZ_NATIVE") is not None:
        raise SettingError(
            f"ATTNVIZ_NATIVE={os.environ['ATTNVIZ_NATIVE']!r} is no longer read: torch's softmax is the default, and "
            "ATTNVIZ_SOFTMAX=c asks for the fused C kernel (unset ATTNVIZ_NATIVE)."
        )
    raw = os.environ.get("ATTNVIZ_SOFTMAX", "")
    if raw.strip().lower() not in SOFTMAXES:
        raise SettingError(
            f"ATTNVIZ_SOFTMAX={raw!r} is not a setting attnviz knows. Use torch (the default), compiled "
            "(torch.compile) or c (attnviz's fused C kernel, built with this machine's C compiler)."
        )
    return SOFTMAXES[raw.strip().lower()]


def visitor_is_operator() -> bool:
    """Whether the person being served may lift the hosted limits (see the module's docstring)."""
    current = mode()
    if current != "auto":
        return current == "local"
    return _visitor_on_this_machine()


def _visitor_on_this_machine() -> bool:
    """True off the web (the command line, a test harness) and for a browser connected straight over loopback."""
    if "streamlit" not in sys.modules:
        return True
    from streamlit import runtime

    if not runtime.exists():
        return True
    import streamlit as st

    headers = {name.lower() for name in st.context.headers}
    remote = isinstance(st.context.ip_address, str)  # None: loopback (streamlit hides it), or no browser at all
    return not remote and not headers & FORWARDING_HEADERS


def limits() -> Limits:
    """The limits in force for the visitor being served (read on every call, so tests can switch modes)."""
    if visitor_is_operator():
        return Limits(False, max_text_chars=20_000, max_tokens=4096, max_corpus_sentences=500, allowed_models=None)
    extra = tuple(m.strip() for m in os.environ.get("ATTNVIZ_ALLOWED_MODELS", "").split(",") if m.strip())
    return Limits(
        True,
        max_text_chars=2_000,
        max_tokens=256,
        max_corpus_sentences=100,
        allowed_models=HOSTED_MODELS + extra,
        max_attention_mb=256,
        max_image_bytes=10_000_000,
        max_image_pixels=25_000_000,
        max_experiment_examples=50,
        max_cost_length=256,
        max_memory_length=40,
        max_long_tokens=1_024,
        max_long_chars=8_000,
        max_long_upload_bytes=32_000,
        max_figure_pixels=16_000_000,
        max_ig_steps=64,
        max_attribution_tokens=128,
        max_new_tokens=24,
    )


def check_model(model_id: str) -> None:
    """PermissionError with one plain sentence if this visitor may not load ``model_id``.

    The sentence is the same for every refused id, so it never tells whether a path exists.
    """
    allowed = limits().allowed_models
    model_id = model_id.strip()
    if allowed is None or not model_id or model_id in allowed:
        return
    raise PermissionError(
        f"This hosted demo only loads these models: {', '.join(allowed)}. "
        "Run attnviz on your own machine to load any model or local folder."
    )


# ---- two models side by side -------------------------------------------------------------------------------------
TWO_MODELS_MAX_SIDE = 64  # head-pair JS distances: longer inputs are pooled into this many blocks of words first
TWO_MODELS_CLOSEST = 8  # closest head pairs listed
