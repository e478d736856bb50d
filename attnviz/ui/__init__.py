"""The streamlit side that pages share, by job: view state (``state``), widgets, messages, legacy pages mode.

Pages stay thin by calling these; figures and analysis never import streamlit.
"""

from attnviz.ui.legacy_pages import enter_through_app, mark_entered
from attnviz.ui.messages import chart, error, guarded, plain, warning
from attnviz.ui.paper import paper_figure
from attnviz.ui.state import Field, ViewState, flag
from attnviz.ui.views import PRETRAINED, PRETRAINED_ANALYSES, PRETRAINED_PAGE, PRETRAINED_VIEWS
from attnviz.ui.widgets import TASK_FIELDS, downloads, model_box, next_draw, overview, task_input, why_link

__all__ = [
    "PRETRAINED", "PRETRAINED_ANALYSES", "PRETRAINED_PAGE", "PRETRAINED_VIEWS",
    "TASK_FIELDS", "Field", "ViewState", "chart", "downloads", "enter_through_app", "error", "flag", "guarded",
    "mark_entered", "model_box", "next_draw", "overview", "plain", "task_input", "warning", "why_link",
    "paper_figure",
]  # fmt: skip
