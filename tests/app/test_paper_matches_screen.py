"""'Figure for a paper' exports the chart on screen, in every view state: for every chart of every page that has
an export, pressed in a view other than the default (first token set aside, another layer and head, another
colour option, another tab), the exported figure's data (decoded arrays, tick labels, titles) is the screen's.

The export is compared before it is rendered: ``export.to_bytes`` is replaced by one that keeps the figure
``export.styled`` makes for the file, so no browser runs here.
"""

from __future__ import annotations

import json

import pytest
from test_export_page import open_popover
from test_pages import open_page

from attnviz.app.paper import opener
from attnviz.figures import export

from chart_data import charts, decode
from hf_models import save_tiny

ARRAYS = ("x", "y", "z", "text", "customdata", "source")
SCALARS = ("type", "name", "zmin", "zmax", "zmid", "colorscale", "x0", "dx", "y0", "dy", "xaxis", "yaxis")
AXIS = ("ticktext", "tickvals", "range", "autorange", "type")
STATES = {
    "long": dict(long_aside="True", long_layer="1", long_head="2", long_how="mean"),
    "pretrained-single": dict(hf_layer="2", hf_head="3", hf_stretch="True", hf_analysis="Rollout"),
    "pretrained-overview": dict(hf_tab="All heads", hf_analysis="Head statistics"),
    "pretrained-lines": dict(hf_tab="Head view", hf_layer="1", hf_head="4", hf_analysis="Head similarity"),
    "temporal": dict(rnn_score="dot", rnn_task="reverse"),
    "self_attention": dict(tf_map="decoder", tf_layer="1", tf_head="2"),
    "compare": dict(cmp_score="scaled", cmp_a="dot", cmp_b="scaled"),
    "memory": dict(ntm_length="4"),
    "hierarchical": {},
    "spatial": dict(sp_seed="3"),
    "analysis": dict(an_layer="1", an_head="2"),
    "generation-gpt2": dict(gen_prompt="one two three", gen_new="4", gen_step="2", gen_layer="1", gen_head="1"),
    "generation-t5": dict(gen_prompt="one two three", gen_new="3", gen_map="decoder", gen_words="True"),
    "two_models": dict(two_layer="1", two_head_a="2", two_head_b="3", two_pairs="All layers"),
    "attribution": {},
    "why": dict(why_task="translate"),
    "home": {},
}


def view_data(figure: dict) -> dict:
    """What a reader sees of a figure's JSON: every trace's arrays and scales, titles, axes' ticks, annotations."""
    traces = [
        {name: decode(trace[name]).tolist() for name in ARRAYS if name in trace}
        | {name: trace[name] for name in SCALARS if name in trace}
        for trace in figure["data"]
    ]
    layout = figure["layout"]
    axes = {
        name: {field: value.get(field) for field in AXIS} | {"title": value.get("title", {}).get("text")}
        for name, value in layout.items()
        if name.startswith(("xaxis", "yaxis"))
    }
    axes = {name: axis for name, axis in axes.items() if any(v is not None for v in axis.values())}  # not automargin
    notes = [note.get("text") for note in layout.get("annotations", [])]
    return dict(traces=traces, axes=axes, title=layout.get("title", {}).get("text"), notes=notes)


def same(exported: dict, shown: dict) -> bool:
    """Equal, NaN (a hidden cell) equal to NaN."""
    return json.dumps(exported, sort_keys=True, default=str) == json.dumps(shown, sort_keys=True, default=str)


@pytest.fixture
def exported(monkeypatch):
    """The figures the presses would have rendered (``export.styled``'s), newest last; nothing is rendered."""
    made = []

    def keep(fig, chosen):
        made.append(json.loads(export.styled(fig, chosen).to_json()))
        return b"<svg/>"

    monkeypatch.setattr(export, "to_bytes", keep)
    return made


def popover_keys(at) -> list[str]:
    """The keys of the page's 'Figure for a paper' popovers ("$$ID-<hash>-<key>-open" -> key)."""
    found = [p.proto.popover for p in at.get("popover") if p.proto.popover.label == "Figure for a paper"]
    return [p.id.rsplit("-", 1)[0].split("-", 2)[-1] for p in found]


@pytest.mark.parametrize("state", list(STATES))  # operator: the tiny models are local folders
def test_every_export_is_the_chart_on_screen_in_a_view_other_than_the_default(state, exported, tmp_path, operator):
    page, _, model = state.partition("-")
    params = STATES[state]
    if page == "generation":  # the packaged model is an encoder: a tiny decoder or encoder-decoder generates
        params = params | dict(gen_model=str(save_tiny(model, tmp_path / model)))
    at = open_page(f"pages/{page}.py", **params)
    if page == "home":
        at.toggle(key="home-interactive").set_value(True).run()
    assert not at.exception, at.exception
    taken = {key: str(at.session_state[key]) for key in params if key in at.session_state}
    assert taken == params, "the page shows the view asked for, not its default"
    keys = popover_keys(at)
    assert keys, "the page draws at least one chart with its export"
    for key in keys:
        assert key.endswith("_paper"), key  # every export sits under its chart: <chart key>_paper
        chart = key.removesuffix("_paper")
        open_popover(at, key)
        at.button(key=f"{key}-render").click().run()
        assert not at.exception, at.exception
        assert "problem" not in at.session_state[f"{key}-file"], at.session_state[f"{key}-file"]
        screen = charts(at)[chart]
        assert same(view_data(exported[-1]), view_data(screen)), (state, chart)
        at.session_state[opener(key)] = False  # closed again, as a click outside it does
