"""View states that more than one page needs: a page that links to another builds the link from its view."""

from __future__ import annotations

from attnviz.app.state import Field, ViewState, flag, natural, one_of

PRETRAINED_VIEWS = ["Single head", "All heads", "Head view"]
# A pretrained model's maps (attnviz.pretrained.extract and .generation name them), as the pages title them.
MAP_TITLES = {
    "self": "Self-attention",
    "encoder": "Encoder self-attention",
    "decoder": "Decoder self-attention over earlier outputs (causal)",
    "cross": "Cross-attention over the source",
}
PRETRAINED_ANALYSES = ["Head statistics", "Rollout", "Head similarity"]
PRETRAINED = ViewState(
    "hf_",
    model=Field(""),
    text=Field("The cat sat on the mat because it was tired."),
    pair=Field(""),
    target=Field(""),
    words=Field(False, flag),
    hide=Field(False, flag),
    stretch=Field(False, flag),
    map=Field("self", check=one_of(*MAP_TITLES)),
    tab=Field(PRETRAINED_VIEWS[0], check=one_of(*PRETRAINED_VIEWS)),
    analysis=Field(None, check=one_of(*PRETRAINED_ANALYSES)),
    layer=Field(0, int, check=natural),
    head=Field(0, int, check=natural),
)
PRETRAINED_PAGE = "pretrained"  # its url_path in app.py
