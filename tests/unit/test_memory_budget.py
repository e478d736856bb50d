"""README's one memory budget is the sum of the bounds the code declares: server.maxCacheDataSize (or the caches'
own max_size values, whichever is smaller), the long-input store and the free buffer pool."""

import math
import re
import tomllib
from pathlib import Path

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


def test_the_readme_states_the_sum_of_the_declared_bounds():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    own = sum(cache_data_bounds())
    assert own == 4_882 * MIB and len(cache_data_bounds()) == 21
    cache_data = min(own, size(config["server"]["maxCacheDataSize"]))
    total = cache_data + LONG_STORE_MB * MIB + math.ceil(FREE_BYTES / MIB) * MIB
    stated = re.search(r"add up to at most \*\*([\d,]+) MiB\*\*", (ROOT / "README.md").read_text())[1]
    assert int(stated.replace(",", "")) * MIB == total == 4_402 * MIB
