"""Crafted websocket messages: the browser's widget state is whatever a visitor sends, and the server checks it.

Every page with a free-form widget (text, number, slider, editor) gets the worst values its widgets can be sent:
text ten times past ``max_chars`` with control characters, numbers of 10**9, NaN and of the wrong type, options
the page does not offer. The route (tests/forged.py) rewrites the browser's rerun request; each step then reads
what the server made of it: the page's URL (``view.share()`` writes the values the page ran with) and its text."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from unittest import mock
from urllib.parse import parse_qs, quote, urlparse

import pytest
from browser_check import need_chromium, shared_server
from forged import STREAM, Forge, Forgery

from attnviz import settings
from attnviz.app import memory, widgets
from benchmarks.browser_support import browser_page, wait_for_app

pytestmark = pytest.mark.browser
F = Forgery.of
NAN = math.nan
with mock.patch.object(settings, "visitor_is_operator", lambda: False):
    VISITOR = settings.limits()  # every browser in these tests is a visitor (no operator link opened)
CONTROL = "\x00\x07\x1b[2J\u202e\ufeff"  # NUL, bell, an ANSI clear-screen, right-to-left override, BOM


def padded(text: str, limit: int, tail: str = " zzzzzz qqqqqq") -> str:
    """``text`` padded with spaces to exactly ``limit`` characters, then ``tail`` (words no model knows) repeated to
    ten times the limit: the page runs on it only if the server cut it at ``limit``."""
    return (text.ljust(limit) + tail * (9 * limit // len(tail) + 1))[: 10 * limit]


@dataclass(frozen=True)
class Step:
    """One crafted rerun: the forged values, what the page must then say, and the values its URL must carry."""

    forgeries: tuple[Forgery, ...]
    said: tuple[str, ...] = ()
    linked: dict[str, str] = field(default_factory=dict)


def task_page(prefix: str, *forgeries: Forgery, **linked: str) -> list[Step]:
    """A built-in task page (task box of widgets.task_input): the text past the task cap, a task not offered."""
    text = padded("the cat does not see my friend", VISITOR.max_task_chars)
    sent = (F(f"{prefix}text", string_value=text), F(f"{prefix}task", string_value="nope"), *forgeries)
    cut = text[: VISITOR.max_task_chars]
    return [Step(sent, linked={f"{prefix}text": cut, f"{prefix}task": "translate", **linked})]


LENGTH = memory.VIEW.fields["length"].default
ADDED_ROWS = {  # 50 rows added to the editor: past the visitor's length cap (40) whatever the length
    "edited_rows": {},
    "added_rows": [{f"bit {b}": True for b in range(memory.BITS)}] * 50,
    "deleted_rows": [],
}
ATTENTION = "attention " * 2_000  # 20,000 characters: ten times a visitor's text cap, one token a word
SHORT = padded("The cat sat on the mat.", VISITOR.max_text_chars, " attention")  # runs only if cut at the cap
PAGES: dict[str, list[Step]] = {
    "temporal": task_page(
        "rnn_", F("rnn_score", string_value="nope"), F("rnn_step", string_value="9"), rnn_score="additive"
    ),
    "self_attention": task_page(
        "tf_",
        F("tf_layer", double_array_value=[1e9]),
        F("tf_head", string_value="x"),
        F("tf_map", string_value="nope"),
        tf_layer="0",
        tf_head="0",
        tf_map="cross",
    ),
    "compare": task_page(
        "cmp_",
        F("cmp_score", string_value="nope"),
        F("cmp_heads", string_array_value=["nope", "99"]),
        F("cmp_a", double_value=NAN),
        cmp_score="additive",
        cmp_a="additive",
    ),
    "memory": [
        # 50 rows of ones added to the editor, whose num_rows="fixed" Streamlit does not enforce on what a client
        # sends (before: 2,006 steps against a visitor's cap of 40, the server held 283 s)
        Step(
            (F(memory.VIEW.key(f"editor_{LENGTH}_0"), string_value=json.dumps(ADDED_ROWS)),),
            said=(
                f"The edited pattern was not {LENGTH} rows of {memory.BITS}",
                f"of {LENGTH * memory.BITS} bits copied",
            ),
        ),
        # out of range or not a number: the slider's own default, its minimum (1)
        Step((F("ntm_length", double_array_value=[1e9]),), said=(f"of {memory.BITS} bits copied wrong",)),
        Step((F("ntm_length", string_value="9"),), said=(f"of {memory.BITS} bits copied wrong",)),
    ],
    "hierarchical": [
        Step(
            (F("han_text", string_value=padded("we talked about the band.", VISITOR.max_document_chars)),),
            said=("Predicted topic: music",),
        ),
        Step((F("han_text", double_value=NAN),), said=("Type a document first",)),  # the text box's default: empty
    ],
    "spatial": [
        Step(
            (
                F("sp_objects", string_value=padded("red circle, blue square", VISITOR.max_task_chars, ", zz zz")),
                F("spv_layer", double_array_value=[1e9]),
                F("spv_query", double_array_value=[NAN]),
                F("spv_head", string_value="0"),
            ),
            linked={"sp_objects": "red circle, blue square".ljust(VISITOR.max_task_chars), "spv_layer": "0"},
        )
    ],
    "why": [
        Step(
            (
                F("why_keys", string_value="9"),
                F("why_task", string_value="nope"),
                F("why_model", double_value=NAN),
            ),
        ),
    ],
    "pretrained": [
        Step(
            (
                F("hf_text", string_value=CONTROL + ATTENTION),
                F("hf_layer", double_array_value=[1e9]),
                F("hf_head", string_value="x"),
            ),
            linked={"hf_text": (CONTROL + ATTENTION)[: VISITOR.max_text_chars], "hf_layer": "0", "hf_head": "0"},
        ),
        Step((F("hf_model", string_value="y" * 100_000),), said=("This server only loads these models",)),
    ],
    "two_models": [
        Step(
            (
                F("two_text", string_value=ATTENTION),
                F("two_layer", double_array_value=[1e9]),
                F("two_head_a", string_value="x"),
                F("two_pairs", string_array_value=["nope"]),
            ),
            linked={"two_text": ATTENTION[: VISITOR.max_text_chars], "two_layer": "0", "two_head_a": "0"},
        ),
        Step((F("two_a_model", string_value="y" * 100_000),), said=("This server only loads these models",)),
    ],
    "attribution": [
        Step(
            (
                F("attr_text", string_value=SHORT),
                F("attr_steps", double_value=NAN),
                F("attr_position", string_value="999"),
                F("attr_baseline", string_value="nope"),
            ),
            linked={"attr_text": SHORT[: VISITOR.max_text_chars], "attr_steps": "1", "attr_baseline": "zero"},
        ),
        Step((F("attr_steps", double_value=1e12),), said=(f"from 1 to {VISITOR.max_ig_steps} steps here",)),
    ],
    "long": [
        Step(
            (
                F("long_text", string_value=ATTENTION * 4),
                F("long_zq", double_value=NAN),
                F("long_zk", string_value="abc"),
                F("long_how", string_value="nope"),
            ),
            said=(f"The text is {VISITOR.max_long_chars // len('attention ') + 2:,} tokens long",),
        )
    ],
    "heads": [
        Step(
            (
                F("heads_text", string_value=ATTENTION),
                F("heads_ablation", string_value="nope"),
                F("heads_statistic", string_value="nope"),
                F("heads_layer", double_array_value=[1e9]),
                F("heads_head", string_value="x"),
            ),
            # cut to the visitor's ablation cap; no model given: the packaged decoder's 3 x 4 heads
            said=(f"{VISITOR.max_ablation_tokens} tokens, 12 heads",),
            linked={"heads_text": ATTENTION[: VISITOR.max_text_chars], "heads_ablation": "zero", "heads_layer": "0"},
        ),
        Step((F("heads_model", string_value="y" * 100_000),), said=("This server only loads these models",)),
    ],
    "analysis": [
        Step(
            (
                F("an_a", string_value=SHORT),
                F("an_b", string_value=SHORT),
                F("an_source", string_value="nope"),
                F("an_layer", double_array_value=[1e9]),
                F("an_head", string_value="x"),
            ),
            linked={"an_a": SHORT[: VISITOR.max_text_chars], "an_b": SHORT[: VISITOR.max_text_chars]},
        ),
        Step((F("an_model", string_value="y" * 100_000),), said=("This server only loads these models",)),
    ],
}


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for every page of this file (a fresh tab each)."""
    need_chromium()
    with browser_page() as page:
        yield page.context.browser


def rerun(page) -> None:
    """Ask the server to rerun the page, as pressing "r" does: the browser sends every widget's state."""
    page.locator("h1").first.click()
    page.keyboard.press("r")
    page.wait_for_timeout(300)
    page.wait_for_selector("h1, [data-testid=stException]", timeout=60_000)  # an error page may draw no title
    assert not page.locator("[data-testid=stException]").count(), "an error page"
    wait_for_app(page)


def linked(page) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlparse(page.url).query, keep_blank_values=True).items()}


def forge_steps(browser, path: str, steps: list[Step]) -> str:
    """Open ``path`` in a fresh tab, send each step's forged values and check what the server made of them; the
    page's text after the last step."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    forge = Forge()
    page.route_web_socket(STREAM, forge)
    try:
        page.goto(f"{shared_server()}/{path}")
        wait_for_app(page)
        for step in steps:
            forge.send(*step.forgeries)
            rerun(page)
            assert not forge.unsent(), f"never sent (not drawn: {forge.missing()})"
            assert not page.locator("[data-testid=stException]").count(), "an error page"
            text = page.locator("body").inner_text()
            assert "Traceback" not in text
            for sentence in step.said:
                assert sentence in text
            assert {key: linked(page).get(key) for key in step.linked} == step.linked
        return text
    finally:
        page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_forged_widget_values_are_checked_on_every_page_with_a_free_form_widget(name, browser):
    forge_steps(browser, name, PAGES[name])


def test_forged_widget_values_on_the_generation_page_are_checked(browser, operator, tmp_path):
    """The generation page draws its widgets only for a decoder or an encoder-decoder, which a visitor cannot load
    offline: the operator (ATTNVIZ_HOSTED=0), on a tiny random GPT-2 folder. The model box is cut at
    widgets.MAX_MODEL_CHARS (before: 100,000 characters gave ``OSError: File name too long``, an error page)."""
    from hf_models import save_tiny

    folder = save_tiny("gpt2", tmp_path / "tiny-gpt2")
    steps = [
        Step(
            (
                F("gen_prompt", string_value="The dog ran"),
                F("gen_new", double_value=NAN),
                F("gen_mode", string_value="nope"),
                F("gen_step", string_value="x"),
            ),
            linked={"gen_prompt": "The dog ran", "gen_new": "1", "gen_mode": "Generate (greedy)"},
        ),
        Step((F("gen_new", double_value=1e9),), linked={"gen_new": "1"}),
        Step((F("gen_model", string_value="y" * 100_000),), said=("Could not load 'yyy",)),
    ]
    text = forge_steps(browser, f"generation?gen_model={quote(str(folder))}", steps)
    assert "y" * widgets.MAX_MODEL_CHARS in text and "y" * (widgets.MAX_MODEL_CHARS + 1) not in text


def test_forged_widget_values_on_the_image_to_text_page_are_checked(browser, operator, tmp_path):
    """The image-to-text page as the operator, on a tiny random LLaVA folder (no visitor can load one offline):
    numbers NaN and 10^9, choices not offered, a step of the wrong type, a 100,000-character model box."""
    from vlm_models import save_tiny_vlm

    folder = save_tiny_vlm("llava", tmp_path / "tiny-llava")
    steps = [
        Step(
            (
                F("i2t_new", double_value=NAN),
                F("i2t_mode", string_value="nope"),
                F("i2t_heads", string_value="nope"),
                F("i2t_step", string_value="x"),
                F("i2t_layer", double_value=1e9),
            ),
            linked={"i2t_new": "1", "i2t_mode": "Generate (greedy)", "i2t_heads": "Mean over heads"},
        ),
        Step((F("i2t_new", double_value=1e9),), linked={"i2t_new": "1"}),
        Step((F("i2t_model", string_value="y" * 100_000),), said=("Could not load 'yyy",)),
    ]
    text = forge_steps(browser, f"image_to_text?i2t_model={quote(str(folder))}&i2t_new=2", steps)
    assert "y" * widgets.MAX_MODEL_CHARS in text and "y" * (widgets.MAX_MODEL_CHARS + 1) not in text
