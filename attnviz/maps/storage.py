"""Save and load named AttentionMaps as .npz, .json or .csv (exact round trip for npz and json)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from attnviz.maps.attention_map import AttentionMap

FORMATS = ("npz", "json", "csv")
_FIELDS = ("query_tokens", "key_tokens", "kind", "source", "query_special", "key_special")


def to_bytes(maps: dict[str, AttentionMap], fmt: str) -> bytes:
    """Serialise named maps; ``fmt`` is npz, json or csv."""
    if fmt == "npz":
        return _to_npz(maps)
    if fmt == "json":
        return _to_json(maps).encode("utf-8")
    if fmt == "csv":
        return _to_csv(maps).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def from_bytes(data: bytes, fmt: str) -> dict[str, AttentionMap]:
    """Read named maps written by :func:`to_bytes` (npz or json)."""
    if fmt == "npz":
        return _from_npz(data)
    if fmt == "json":
        return _from_json(data.decode("utf-8"))
    raise ValueError(f"cannot read format {fmt!r}: use npz or json")


def save(maps: dict[str, AttentionMap] | AttentionMap, path: str | Path) -> Path:
    """Write maps to ``path``; the suffix (.npz, .json, .csv) picks the format."""
    path = Path(path)
    if isinstance(maps, AttentionMap):
        maps = {"attention": maps}
    path.write_bytes(to_bytes(maps, _format_of(path)))
    return path


def load(path: str | Path) -> dict[str, AttentionMap]:
    """Read maps from a .npz or .json file written by :func:`save`."""
    path = Path(path)
    return from_bytes(path.read_bytes(), _format_of(path))


def _format_of(path: Path) -> str:
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path.name}: unknown file type; use a .npz, .json or .csv file name")
    return fmt


def _to_npz(maps: dict[str, AttentionMap]) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    for name, attn in maps.items():
        arrays[name] = attn.weights
        arrays[f"{name}_query_tokens"] = np.array(attn.query_tokens, dtype=str)
        arrays[f"{name}_key_tokens"] = np.array(attn.key_tokens, dtype=str)
        arrays[f"{name}_kind"] = np.array(attn.kind)
        arrays[f"{name}_source"] = np.array(attn.source)
        arrays[f"{name}_query_special"] = np.array(attn.query_special, dtype=bool)
        arrays[f"{name}_key_special"] = np.array(attn.key_special, dtype=bool)
        if attn.grid is not None:
            arrays[f"{name}_grid"] = np.array(attn.grid, dtype=np.int64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _from_npz(data: bytes) -> dict[str, AttentionMap]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        names = [key for key in npz.files if f"{key}_query_tokens" in npz.files]
        return {
            name: AttentionMap(
                weights=npz[name],
                query_tokens=tuple(npz[f"{name}_query_tokens"].tolist()),
                key_tokens=tuple(npz[f"{name}_key_tokens"].tolist()),
                kind=str(npz[f"{name}_kind"]),
                source=str(npz[f"{name}_source"]),
                query_special=tuple(npz[f"{name}_query_special"].tolist()),
                key_special=tuple(npz[f"{name}_key_special"].tolist()),
                grid=tuple(npz[f"{name}_grid"].tolist()) if f"{name}_grid" in npz.files else None,
            )
            for name in names
        }


def _to_json(maps: dict[str, AttentionMap]) -> str:
    payload = {
        name: {
            "shape": list(attn.weights.shape),
            # float32 -> float64 is exact, and json writes float64 so that it reads back exactly.
            "weights": attn.weights.astype(np.float64).tolist(),
            **{f: list(v) if isinstance(v := getattr(attn, f), tuple) else v for f in _FIELDS},
            "grid": None if attn.grid is None else list(attn.grid),
        }
        for name, attn in maps.items()
    }
    return json.dumps({"format": "attnviz-attention", "version": 1, "maps": payload})


def _from_json(text: str) -> dict[str, AttentionMap]:
    payload = json.loads(text)
    return {
        name: AttentionMap(
            weights=np.asarray(item["weights"], dtype=np.float32).reshape(item["shape"]),
            **{f: tuple(item[f]) if isinstance(item[f], list) else item[f] for f in _FIELDS},
            grid=tuple(item["grid"]) if item.get("grid") else None,
        )
        for name, item in payload["maps"].items()
    }


def _to_csv(maps: dict[str, AttentionMap]) -> str:
    import pandas as pd

    frames = [attn.to_frame().assign(map=name, kind=attn.kind) for name, attn in maps.items()]
    frame = pd.concat(frames, ignore_index=True)
    columns = ["map", "kind", "layer", "head", "query_pos", "query_token", "key_pos", "key_token"]
    frame = frame[columns + ["weight"]]
    return frame.to_csv(index=False, float_format="%.9g")
