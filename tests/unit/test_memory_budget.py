"""README's one memory budget is the sum of the bounds the code declares: server.maxCacheDataSize (or the caches'
own max_size values, whichever is smaller), the long-input store and the free buffer pool."""

import math
import re
import tomllib
from pathlib import Path

import numpy as np

from attnviz.maps.buffers import FREE_BYTES
from attnviz.settings import LONG_STORE_MB

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20
UNITS = {"mb": MIB, "gb": 2**30}


def size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*(mb|gb)", text.lower()).groups()
    return int(number) * UNITS[unit]


def cache_data_bounds() -> list[int]:
    source = (ROOT / "attnviz" / "app" / "cache.py").read_text()
    decorators = re.findall(r"st\.cache_data\((.*?)\)", source, re.S)
    bounds = [re.search(r'max_size="([^"]+)"', d) for d in decorators]
    assert all(bounds), "every st.cache_data of the app has a max_size"
    return [size(b[1]) for b in bounds]


def per_process_bounds() -> list[int]:
    """The byte bounds of the app's per-process caches (results whose function draws a progress bar)."""
    source = (ROOT / "attnviz" / "app" / "cache.py").read_text()
    return [size(found) for found in re.findall(r'_per_process\([^)]*max_size="([^"]+)"', source)]


def test_the_readme_states_the_sum_of_the_declared_bounds():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    own = sum(cache_data_bounds())
    assert own == 4_882 * MIB and len(cache_data_bounds()) == 21
    cache_data = min(own, size(config["server"]["maxCacheDataSize"]))
    assert per_process_bounds() == [16 * MIB]  # the heads page's importance grids
    total = cache_data + sum(per_process_bounds()) + LONG_STORE_MB * MIB + math.ceil(FREE_BYTES / MIB) * MIB
    stated = re.search(r"add up to at most \*\*([\d,]+) MiB\*\*", (ROOT / "README.md").read_text())[1]
    assert int(stated.replace(",", "")) * MIB == total == 4_418 * MIB


def test_a_per_process_cache_drops_its_oldest_results_past_its_byte_bound():
    """The heads page's per-process cache holds at most ``max_size`` of results, counted by their arrays."""
    from attnviz.app.cache import _nbytes, _per_process

    calls = []

    @_per_process(max_entries=100, max_size="1MB")
    def grid(n):
        calls.append(n)
        return np.full(300_000 // 4, n, np.float32), f"grid {n}"  # 300 kB and a label

    for n in range(4):  # the fourth passes 1 MB: the first goes
        grid(n=n)
    assert _nbytes(grid(n=3)) == 300_000 + len("grid 3") + 1024
    grid(n=1)
    grid(n=0)
    assert calls == [0, 1, 2, 3, 0]  # 1, 2 and 3 were kept (1 MB = 3 results); 0 was computed again
