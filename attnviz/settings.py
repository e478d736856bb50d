"""Limits of the app, and who may lift them: safe by default, for every browser.

``ATTNVIZ_HOSTED`` chooses the mode:

- unset, empty or ``auto`` (the default): every browser gets the hosted limits and the model allow-list,
  unless it proves it is the *operator*, the person who started the server: at its first page view the
  server prints a link carrying a secret token (``/?operator=<token>``, as Jupyter does), and a browser
  session that opened it may load any model or local folder with the local limits. Rights are never
  inferred from a connection (loopback, headers, a missing client address): a proxy in front of the app
  makes every visitor look local. Off the web (the command line, code outside any page) is the operator.
- ``1`` / ``true`` / ``yes``: everybody gets the hosted limits (a public demo), the token is never printed.
- ``0`` / ``false`` / ``no``: everybody is the operator (an explicit opt-in, for a server only you can reach).

Any other value stops the app at start with :class:`SettingError`, as does a malformed
``ATTNVIZ_ALLOWED_MODELS`` (comma-separated Hub ids or absolute folders added to the allow-list) or
``ATTNVIZ_TORCH_THREADS``. trust_remote_code is never enabled, for anybody.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import sys
import threading
from dataclasses import dataclass
from typing import Literal

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the packaged, offline default (attnviz.pretrained.hf re-exports it); here so that
# reading the settings never imports torch (the home page needs neither)
DEFAULT_DECODER = "attnviz-tiny-gpt"  # the packaged decoder (attnviz/builtin/weights/attnviz-tiny-gpt): the default of
# every page that needs a decoder

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
OPERATOR_PARAM = "operator"  # the operator link: /?operator=<token>
OPERATOR_KEY = "_attnviz_operator"  # session state: True once this browser session opened the operator link
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?", re.ASCII)  # owner/name or name
THREADS = re.compile(r"[0-9]{1,3}")  # ASCII digits only: "²".isdigit() is True and int("²") fails
HOSTED_MODELS = (
    DEFAULT_MODEL,
    DEFAULT_DECODER,
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
    max_ablation_tokens: int = 256  # heads page: tokens of the text (each head's copy of it runs the model again)
    max_renders_per_minute: int | None = None  # 'Figure for a paper' renders per session (each starts a browser)


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
    if not THREADS.fullmatch(raw) or not 1 <= int(raw) <= 256:
        raise SettingError(
            f"ATTNVIZ_TORCH_THREADS={raw!r} is not a number of threads: use a whole number from 1 to 256."
        )
    return int(raw)


def extra_models() -> tuple[str, ...]:
    """``ATTNVIZ_ALLOWED_MODELS``: Hub ids or absolute folders the operator adds to the visitors' allow-list."""
    entries = tuple(m.strip() for m in os.environ.get("ATTNVIZ_ALLOWED_MODELS", "").split(",") if m.strip())
    for entry in entries:
        folder = entry.startswith("/") and ".." not in entry.split("/") and entry.isprintable()
        if not (HUB_ID.fullmatch(entry) or folder):
            raise SettingError(
                f"ATTNVIZ_ALLOWED_MODELS holds {entry!r}, which is not a model: list Hub ids (owner/name) or "
                "absolute folder paths, separated by commas."
            )
    return entries


def check_environment() -> None:
    """SettingError for the first environment setting that means nothing here (the app stops at start)."""
    mode()
    torch_threads()
    extra_models()
    softmax()


_token_lock = threading.Lock()
_token: list[str] = []  # the operator token, made at first use and kept for the life of the server process


def operator_token() -> str:
    """This process's secret: whoever opens ``/?operator=<token>`` is the operator for that browser session."""
    with _token_lock:
        if not _token:
            _token.append(secrets.token_urlsafe(32))
        return _token[0]


def is_operator_token(offered: str) -> bool:
    """Whether ``offered`` is the operator token, compared in constant time."""
    return hmac.compare_digest(offered.encode(errors="replace"), operator_token().encode())


Softmax = Literal["torch", "compiled", "c"]
SOFTMAXES: dict[str, Softmax] = {"": "compiled", "torch": "torch", "compiled": "compiled", "c": "c"}


def softmax() -> Softmax:
    """The softmax of the long-input extraction (``ATTNVIZ_SOFTMAX``: ``compiled``, the default, ``torch`` or
    ``c``; docs/long.md measures them); SettingError for any other value, or for the retired ``ATTNVIZ_NATIVE``."""
    if os.environ.get("ATTNVIZ_NATIVE") is not None:
        raise SettingError(
            f"ATTNVIZ_NATIVE={os.environ['ATTNVIZ_NATIVE']!r} is no longer read: torch.compile's softmax is the "
            "default, and ATTNVIZ_SOFTMAX=c asks for the fused C kernel (unset ATTNVIZ_NATIVE)."
        )
    raw = os.environ.get("ATTNVIZ_SOFTMAX", "")
    if raw.strip().lower() not in SOFTMAXES:
        raise SettingError(
            f"ATTNVIZ_SOFTMAX={raw!r} is not a setting attnviz knows. Use compiled (torch.compile, the default), "
            "torch (torch's operations) or c (attnviz's fused C kernel, built with this machine's C compiler)."
        )
    return SOFTMAXES[raw.strip().lower()]


def visitor_is_operator() -> bool:
    """Whether the person being served may lift the hosted limits (see the module's docstring)."""
    current = mode()
    if current != "auto":
        return current == "local"
    return _proved_operator()


def _proved_operator() -> bool:
    """True off the web (the command line, code outside any page) and for a browser session that opened the
    operator link. Everything else fails closed: a session without the proof, and server code running outside
    any session (the runtime exists, no script context)."""
    if "streamlit" not in sys.modules:
        return True
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return not runtime.exists()
    import streamlit as st

    return st.session_state.get(OPERATOR_KEY) is True


def limits() -> Limits:
    """The limits in force for the visitor being served (read on every call, so tests can switch modes)."""
    if visitor_is_operator():
        return Limits(False, max_text_chars=20_000, max_tokens=4096, max_corpus_sentences=500, allowed_models=None)
    extra = extra_models()
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
        max_ablation_tokens=64,
        max_renders_per_minute=6,
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
        f"This server only loads these models for visitors: {', '.join(allowed)}. Its operator may load any "
        "model or local folder (open the operator link it printed in its terminal, or run attnviz on your own machine)."
    )


# ---- two models side by side -------------------------------------------------------------------------------------
TWO_MODELS_MAX_SIDE = 64  # head-pair JS distances: longer inputs are pooled into this many blocks of words first
TWO_MODELS_CLOSEST = 8  # closest head pairs listed
