"""The streamlit side that pages share, by job: view state (``state``), widgets, messages, legacy pages mode.

Pages stay thin by calling these; figures and analysis never import streamlit. Each name is imported from its
module on first use, so a page that needs only messages (the home page) does not import the widgets, which
import torch.
"""

import importlib

SOURCES = {
    "legacy_pages": ("enter_through_app", "mark_entered"),
    "messages": ("chart", "error", "guarded", "plain", "warning"),
    "paper": ("paper_figure",),
    "state": ("Field", "ViewState", "flag"),
    "views": ("PRETRAINED", "PRETRAINED_ANALYSES", "PRETRAINED_PAGE", "PRETRAINED_VIEWS"),
    "widgets": ("TASK_FIELDS", "downloads", "model_box", "next_draw", "overview", "task_input", "why_link"),
}
MODULE_OF = {name: module for module, names in SOURCES.items() for name in names}
__all__ = sorted(MODULE_OF)


def __getattr__(name: str):
    if name not in MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{MODULE_OF[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *MODULE_OF})
