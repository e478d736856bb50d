"""Limits of the app, and hosted mode for a public demo (set ATTNVIZ_HOSTED=1).

In hosted mode, model ids are limited to an allow-list (ATTNVIZ_ALLOWED_MODELS, comma-separated, adds
to the default list), and text, token and corpus limits are lower. trust_remote_code is never enabled,
hosted or not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from attnviz.hf import DEFAULT_MODEL

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


@dataclass(frozen=True)
class Limits:
    hosted: bool
    max_text_chars: int  # longer text is cut, with a notice
    max_tokens: int  # the model reads at most this many tokens (and at most its own maximum)
    max_corpus_sentences: int
    allowed_models: tuple[str, ...] | None  # None: any Hub id or local folder
    max_task_chars: int = 200  # built-in task input (the tasks' sentences are short)
    max_document_chars: int = 2_000  # the hierarchical page's document
    max_copy_length: int = 20  # the NTM page's pattern (trained lengths and beyond)


def limits() -> Limits:
    """The limits in force, from the environment (read on every call, so tests can switch modes)."""
    hosted = os.environ.get("ATTNVIZ_HOSTED", "").strip().lower() in ("1", "true", "yes")
    if not hosted:
        return Limits(False, max_text_chars=20_000, max_tokens=4096, max_corpus_sentences=500, allowed_models=None)
    extra = tuple(m.strip() for m in os.environ.get("ATTNVIZ_ALLOWED_MODELS", "").split(",") if m.strip())
    return Limits(
        True, max_text_chars=2_000, max_tokens=256, max_corpus_sentences=100, allowed_models=HOSTED_MODELS + extra
    )


def check_model(model_id: str) -> None:
    """Raise PermissionError with a plain sentence if hosted mode does not allow ``model_id``."""
    allowed = limits().allowed_models
    model_id = model_id.strip()
    if allowed is None or not model_id or model_id in allowed:
        return
    raise PermissionError(
        f"This hosted demo only loads these models: {', '.join(allowed)}. "
        "Run attnviz on your own machine to load any model or local folder."
    )
