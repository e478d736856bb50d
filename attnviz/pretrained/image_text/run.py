"""An image-to-text model's answer (greedy, or a typed answer fed in) with, per answer token, the attention rows of
the step that chose it: a decoder's self-attention row over its context, a captioner's cross-attention row over the
image; and where every image token comes from. Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.image_cells import NOT_A_CELL, ImageCells
from attnviz.maps.image_rows import FIRST_SINK_LAYER
from attnviz.pretrained.generation import TOP
from attnviz.pretrained.image_text import layouts
from attnviz.pretrained.image_text.load import LoadedImageText, image_encoder, inputs, text_layers, text_modules
from attnviz.pretrained.image_text.record import Recorder, first_norms, hooked, output_norms, recording
from attnviz.text.tokens import clean_token


@dataclass(frozen=True)
class ImageTextResult:
    """An answer, each step's probabilities and attention rows, and the image tokens' cells."""

    model: str
    family: str
    kind: str  # "captioner" | "decoder"
    context: tuple[str, ...]  # the tokens fed before the answer (a decoder's prompt, image tokens included)
    answer: tuple[str, ...]
    answer_ids: tuple[int, ...]
    forced: bool
    probabilities: np.ndarray  # [step]
    top_tokens: tuple[tuple[str, ...], ...]  # [step][TOP]
    top_probabilities: np.ndarray  # [step, TOP]
    rows: AttentionMap  # decoders: "self" [layer, head, step, context + answer - 1]; captioners: "cross" [.., image]
    image_positions: np.ndarray  # the keys of ``rows`` that are image tokens, one per cell entry
    cells: ImageCells
    views: tuple[np.ndarray, ...]  # per tile, the pixels the model saw, uint8 [height, width, 3]
    image_norms: np.ndarray  # [layer read, image_token] the norms the sink rule reads (attnviz.maps.image_rows)

    @property
    def steps(self) -> int:
        return len(self.answer)


@dataclass(frozen=True)
class _Prepared:
    inputs: dict[str, torch.Tensor]
    context: list[int]  # text ids fed before the answer


def _prepare(loaded: LoadedImageText, image, prompt: str) -> _Prepared:
    model_inputs = inputs(loaded, image, prompt)
    if loaded.family == "vision-encoder-decoder":
        config = loaded.model.config
        start = config.decoder_start_token_id
        start = start if start is not None else config.decoder.bos_token_id
        return _Prepared(model_inputs, [int(start)])
    ids = model_inputs["input_ids"][0].tolist()
    if loaded.family == "blip":  # BLIP's generate: the first token becomes <bos>, the last ([SEP]) is dropped
        return _Prepared(model_inputs, [loaded.model.config.text_config.bos_token_id, *ids[1:-1]])
    return _Prepared(model_inputs, ids)


def _forward(loaded: LoadedImageText, prepared: _Prepared, ids: list[int], **options):
    """One forward pass over the context followed by answer ids (teacher forcing)."""
    tensor = torch.tensor([ids])
    if loaded.family == "vision-encoder-decoder":
        return loaded.model(pixel_values=prepared.inputs["pixel_values"], decoder_input_ids=tensor, **options)
    if loaded.family == "blip":
        return loaded.model(pixel_values=prepared.inputs["pixel_values"], input_ids=tensor, **options)
    extra = len(ids) - len(prepared.context)
    fed = dict(prepared.inputs, input_ids=tensor, attention_mask=torch.ones_like(tensor))
    for name in ("token_type_ids", "mm_token_type_ids"):  # answer tokens are text (PaliGemma: the causal suffix)
        if name in fed:
            fed[name] = torch.cat([fed[name], torch.full((1, extra), int(name == "token_type_ids"))], dim=1)
    return loaded.model(**fed, **options)


@contextmanager
def _recorded(loaded: LoadedImageText, rows: int | None, defer: bool = False) -> Iterator[tuple[Recorder, list]]:
    """Keep the tracked layers' last ``rows`` rows of every call, and the image tokens' norms the sink rule reads
    (a decoder's hidden states entering its text layers from FIRST_SINK_LAYER on, a captioner's encoder output);
    ``defer``: a decoder's standard layers keep their queries until generation ends (``Recorder.resolve``)."""
    modules = text_modules(loaded)
    if loaded.family == "blip":
        rows_kept = hooked(modules, rows)
    else:
        rows_kept = recording(loaded.model, modules, rows, defer and loaded.kind == "decoder")
    if loaded.kind == "decoder":
        norms_kept = first_norms(text_layers(loaded)[FIRST_SINK_LAYER:])
    else:
        norms_kept = output_norms(image_encoder(loaded))
    with rows_kept as recorder, norms_kept as norms:
        yield recorder, norms


@torch.no_grad()
def generate(loaded: LoadedImageText, image, prompt: str, max_new_tokens: int, cap: int) -> ImageTextResult:
    """Greedy answer of up to ``max_new_tokens`` tokens (at most ``cap``), keeping one row per layer per step."""
    if not 1 <= max_new_tokens <= cap:
        raise ValueError(f"Ask for 1 to {cap} new tokens here; {max_new_tokens} were asked for.")
    prepared = _prepare(loaded, image, prompt)
    options = dict(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
    options |= dict(output_logits=True, return_dict_in_generate=True)
    if loaded.family != "blip":
        options["pad_token_id"] = _pad_id(loaded)
    with _recorded(loaded, 1, defer=True) as (recorder, norms):
        out = loaded.model.generate(**prepared.inputs, **options)
    recorder.resolve(out.past_key_values)
    sequence = out.sequences[0].tolist()
    answer = sequence[len(prepared.context) :] if loaded.kind == "decoder" or loaded.family == "blip" else sequence[1:]
    logits = torch.stack(out.logits)[:, 0]
    if recorder.calls != len(answer):
        raise RuntimeError(f"{recorder.calls} forward calls for {len(answer)} answer tokens")
    return _result(loaded, prepared, answer, False, logits, recorder.stacked(), norms)


@torch.no_grad()
def force(loaded: LoadedImageText, image, prompt: str, answer: str, cap: int) -> ImageTextResult:
    """A typed answer fed in (teacher forcing): one forward pass, keeping the answer's rows only."""
    if not answer or not answer.strip():
        raise ValueError("Type the answer to feed in, or choose 'Generate'.")
    text = answer if answer[0].isspace() or loaded.kind == "captioner" else " " + answer
    ids = list(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])
    if not ids:
        raise ValueError("The answer holds no tokens this model knows: type some words.")
    if len(ids) > cap:
        raise ValueError(f"The answer is {len(ids)} tokens long; at most {cap} can be fed in here: shorten it.")
    prepared = _prepare(loaded, image, prompt)
    with _recorded(loaded, len(ids)) as (recorder, norms):
        out = _forward(loaded, prepared, prepared.context + ids[:-1])
    start = len(prepared.context) - 1
    return _result(loaded, prepared, ids, True, out.logits[0, start : start + len(ids)], recorder.stacked(), norms)


@torch.no_grad()
def full(
    loaded: LoadedImageText, image, prompt: str, answer: str | None = None
) -> tuple[np.ndarray, ImageCells, np.ndarray, list[int]]:
    """Every query's row of one forward pass over the context (and ``answer``'s tokens when given):
    ``([layer, head, query, key] float32, cells, image positions, fed ids)``."""
    prepared = _prepare(loaded, image, prompt)
    ids = [] if not answer else list(loaded.tokenizer(answer, add_special_tokens=False)["input_ids"])
    fed = prepared.context + ids
    with _recorded(loaded, None) as (recorder, _):
        _forward(loaded, prepared, fed)
    weights = recorder.stacked()
    positions = layouts.image_positions(loaded, prepared.inputs.get("input_ids"), weights.shape[-1])
    return weights, layouts.cells(loaded, prepared.inputs), positions, fed


def _pad_id(loaded: LoadedImageText) -> int | None:
    tokenizer = loaded.tokenizer
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _result(loaded, prepared, answer: list[int], forced: bool, logits, rows: np.ndarray, norms) -> ImageTextResult:
    if not answer:
        raise ValueError("The model ended its answer at once: nothing to show.")
    labels = lambda ids: tuple(clean_token(t) for t in loaded.tokenizer.convert_ids_to_tokens(ids))
    probs = torch.softmax(logits.double(), dim=-1).cpu()
    top = probs.topk(TOP, dim=-1)
    cells = layouts.cells(loaded, prepared.inputs)
    context = labels(prepared.context)
    if loaded.kind == "captioner":
        keys = _cell_labels(cells)
        positions = np.arange(len(keys))
        attention = AttentionMap(rows, labels(answer), keys, "cross", loaded.name)
    else:
        positions = layouts.image_positions(loaded, prepared.inputs["input_ids"], rows.shape[-1])
        keys = list(context + labels(answer[:-1]))
        for position, label in zip(positions, _cell_labels(cells)):
            keys[position] = label
        attention = AttentionMap(rows, labels(answer), keys, "self", loaded.name)
    return ImageTextResult(
        model=loaded.name,
        family=loaded.family,
        kind=loaded.kind,
        context=context,
        answer=labels(answer),
        answer_ids=tuple(answer),
        forced=forced,
        probabilities=probs[torch.arange(len(answer)), torch.tensor(answer)].numpy(),
        top_tokens=tuple(labels(row) for row in top.indices.tolist()),
        top_probabilities=top.values.numpy(),
        rows=attention,
        image_positions=positions,
        cells=cells,
        views=layouts.views(loaded, prepared.inputs),
        image_norms=np.stack([n[positions] for n in norms]) if norms else np.zeros((0, len(positions)), np.float32),
    )


def _cell_labels(cells: ImageCells) -> list[str]:
    """``image (row, column)`` per image token (``tile: (row, column)`` with several tiles); ``[image]`` for a
    token that is no cell."""
    several = len(cells.tiles) > 1
    labels = []
    for tile, row, column in cells.cells.tolist():
        where = "[image]" if row == NOT_A_CELL else f"({row}, {column})"
        labels.append(f"{cells.tiles[tile]}: {where}" if several else f"image {where}")
    return labels
