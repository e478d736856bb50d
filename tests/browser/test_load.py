"""16 browser sessions at once on one hosted server, 10 sentences each: none lost, each its own attention,
memory flat from the 50th to the 160th submission. (Times are reported by `python -m benchmarks.load`.)"""

import pytest
from browser_check import need_chromium

from benchmarks.load import run_load

pytestmark = pytest.mark.browser
FLAT_MB = 100  # the caches are bounded: 110 more submissions may not grow the server by more than this


def test_sixteen_sessions_each_get_exactly_their_own_attention_and_memory_stays_flat():
    need_chromium()
    result = run_load(sessions=16, per_session=10, typing_ms=100)  # fast typists: the most submissions at once
    assert (result["drawn"], result["lost"], result["wrong"]) == (160, 0, 0), result
    memory = result["memory_mb"]
    assert memory[160] - memory[50] <= FLAT_MB, memory
