"""A page's view state: its widget keys under one prefix, restored from a shared link and written back to it.

A page declares its fields once::

    view = ViewState("hf_", text=Field("The cat sat."), layer=Field(0, int), words=Field(False, flag))
    st.text_area("Text", key=view.key("text"))
    layer, head = view.layer_head(attn)
    view.share()  # every declared field that the page has used goes into the URL and the share link

Nobody else builds a ``f"{prefix}layer"`` string: widgets take ``view.key(name)``, panels take the view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from attnviz import figures
from attnviz.app.messages import warning
from attnviz.maps.attention_map import AttentionMap

SHARE = "share_open"  # under a view's prefix: the share expander's key, True while it is open


TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def flag(text: object) -> bool:
    """A boolean from the URL ('True' / 'false' / '1' / 'no' ...); ValueError for anything else."""
    word = str(text).lower()
    if word not in TRUE + FALSE:
        raise ValueError(f"not a yes or no: {text!r}")
    return word in TRUE


def natural(value: int) -> bool:
    """A count, an index or a seed a link may carry: 0 to 2**31 - 1."""
    return 0 <= value < 2**31


def one_of(*options: Any) -> Callable[[Any], bool]:
    """A field's check: the value is one of ``options``."""
    return lambda value: value in options


@dataclass(frozen=True)
class Field:
    """One piece of a view: its default, how to read it from the URL (``cast``, then ``check``), and whether
    links carry it (a field not shared is never read from the URL)."""

    default: Any
    cast: Callable[[str], Any] = str
    shared: bool = True
    check: Callable[[Any], bool] = lambda value: True

    def parse(self, text: str) -> Any:
        """The value a link's ``text`` stands for; ValueError when it is malformed or out of range."""
        value = self.cast(text)
        if not self.check(value):
            raise ValueError(f"out of range: {text[:40]!r}")
        return value


class ViewState:
    """The state of one page's view: ``prefix`` + declared fields, in ``st.session_state`` and the URL."""

    def __init__(self, prefix: str, **fields: Field):
        self.prefix, self.fields = prefix, fields

    def key(self, name: str) -> str:
        """The session-state (and widget) key of ``name``; any name, declared or not, lives under the prefix."""
        return f"{self.prefix}{name}"

    def __getitem__(self, name: str) -> Any:
        """The value of a declared field: from the URL on the first visit (a shared link), else its default."""
        key = self.key(name)
        if key not in st.session_state:
            st.session_state[key] = self._linked().get(name, self.fields[name].default)
        return st.session_state[key]

    def _linked(self) -> dict[str, Any]:
        """The shared fields the URL carries, each through its parser. The first time, one sentence names those
        it carried malformed or out of range: they keep their defaults."""
        values, rejected = {}, []
        for name, field in self.fields.items():
            text = st.query_params.get(self.key(name))
            if text is None or not field.shared:
                continue
            try:
                values[name] = field.parse(text)
            except (TypeError, ValueError, OverflowError):
                rejected.append(name)
        told = self.key("link_checked")
        if rejected and told not in st.session_state:
            names = ", ".join(rejected)
            warning(f"The link's value for {names} was malformed or out of range, so the default is used.")
        st.session_state[told] = True
        return values

    def restore(self, *names: str) -> None:
        """Read these fields from a shared link (first visit) before their widgets are drawn."""
        for name in names:
            self[name]

    def __setitem__(self, name: str, value: Any) -> None:
        st.session_state[self.key(name)] = value

    def choose(self, name: str, options: Sequence, default: Any = None) -> Any:
        """The field's value if it is one of ``options`` (a link may carry anything), else ``default``."""
        fallback = options[0] if default is None else default
        if self[name] not in options and self._offered_by_link(name):
            field_default = self.fields[name].default
            fallback = field_default if field_default in options else fallback
        if self[name] not in options:
            self[name] = fallback
        return self[name]

    def _offered_by_link(self, name: str) -> bool:
        """True (once, saying so) when the URL carries ``name`` with a value the page does not offer."""
        said = st.session_state.setdefault(self.key("link_offered"), set())
        if self.key(name) not in st.query_params or name in said:
            return False
        said.add(name)
        warning(f"The link's {name} is not one this page offers, so the default is used.")
        return True

    def clamp(self, name: str, upper: int, lower: int = 0) -> int:
        """The integer field kept inside lower..upper (a link may carry a layer the model doesn't have)."""
        self[name] = min(max(lower, int(self[name])), upper)
        return self[name]

    def cap(self, name: str, limit: int) -> str:
        """The text field cut to ``limit`` characters (a long link, a paste), saying so."""
        text = self[name]
        if isinstance(text, str) and len(text) > limit:
            self[name] = text[:limit]
            warning(f"The text was {len(text):,} characters long; it was cut to the first {limit:,}.")
        return self[name]

    def layer_head(self, attn: AttentionMap, columns=None) -> tuple[int, int]:
        """Layer and head sliders (fields ``layer`` and ``head``) sized to ``attn``."""
        layer, head = self.clamp("layer", attn.n_layers - 1), self.clamp("head", attn.n_heads - 1)
        left, right = columns or st.columns(2)
        if attn.n_layers > 1:
            layer = left.slider("Layer", 0, attn.n_layers - 1, key=self.key("layer"))
        if attn.n_heads > 1:
            head = right.slider("Head", 0, attn.n_heads - 1, key=self.key("head"))
        return layer, head

    def pick_tile(self, chart: str, tiles: tuple[int, int, int, int]) -> bool:
        """Open the head whose tile was clicked in the overview ``chart`` of ``tiles`` (layers, heads, rows, cols:
        ``figures.tile_shape``, or a long input's thumbnails' shape); call before the sliders. True if a new
        click was applied."""
        point = self._clicked(chart)
        return point is not None and self._pick(chart, figures.tile_at(*point, tiles))

    def pick_cell(self, chart: str) -> bool:
        """Open the head whose cell was clicked in the layer x head grid ``chart`` (x = head, y = layer); True if
        a new click was applied."""
        point = self._clicked(chart)
        return point is not None and self._pick(chart, (int(point[1]), int(point[0])))

    def _clicked(self, chart: str) -> tuple[float, float] | None:
        event = st.session_state.get(self.key(chart))
        points = event.get("selection", {}).get("points", []) if event else []
        return (points[0]["x"], points[0]["y"]) if points and "x" in points[0] else None

    def _pick(self, chart: str, layer_head: tuple[int, int]) -> bool:
        seen = self.key(f"picked-{chart}")
        if st.session_state.get(seen) == layer_head:  # apply a click once, then let the sliders move
            return False
        st.session_state[seen] = layer_head
        self["layer"], self["head"] = layer_head
        return True

    def link(self, page: str, **values: Any) -> str:
        """A relative link that opens ``page`` with these fields (declared ones only) set, as a share link does."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise KeyError(f"not fields of this view: {sorted(unknown)}")
        return f"{page}?{urlencode({self.key(name): str(value) for name, value in values.items()})}"

    def share(self, *others: ViewState) -> None:
        """Put the view's shared fields (and those of ``others`` on the same page) in the URL and show a link
        that reopens it."""
        params = {
            view.key(name): str(st.session_state[view.key(name)])
            for view in (self, *others)
            for name, field in view.fields.items()
            if field.shared and st.session_state.get(view.key(name)) is not None  # None: nothing chosen
        }
        for key, value in params.items():
            if st.query_params.get(key) != value:
                st.query_params[key] = value
        for view in (self, *others):  # a field not shared leaves the URL a link brought it in
            for name, field in view.fields.items():
                if not field.shared and view.key(name) in st.query_params:
                    del st.query_params[view.key(name)]
        base = (st.context.url or "").split("?")[0]
        # The link is drawn only while the expander is open (opening it reruns the page): not on every rerun.
        expander = st.expander("Share this view", icon=":material/link:", key=self.key(SHARE), on_change="rerun")
        if not expander.open:
            return
        with expander:
            st.caption(
                "This link reopens the page with the same text, model, layer and head (copy button on the right)."
            )
            st.code(f"{base}?{urlencode(params)}", language=None, wrap_lines=True)
