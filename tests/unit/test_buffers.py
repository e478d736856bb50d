"""The pool of reused float32 blocks (attnviz/maps/buffers.py): a block is handed out again only when no array,
view or tensor refers to it, and the free blocks kept stay within their byte bound."""

import ast
import gc
import threading
from pathlib import Path

import numpy as np
import torch

from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.buffers import POOL, Pool
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract


def test_a_block_is_reused_only_when_nothing_refers_to_it():
    pool = Pool(free_bytes=10_000)
    first = pool.take((2, 3))
    first[:] = 7
    block = id(first.base)
    second = pool.take((2, 3))
    assert not np.shares_memory(first, second)  # held: a new block
    row, tensor = first[1], torch.from_numpy(first)
    del first
    third = pool.take((2, 3))
    assert not np.shares_memory(third, row) and not np.shares_memory(third, tensor.numpy())
    assert (row == 7).all() and (tensor == 7).all()
    del row, tensor, third
    gc.collect()
    assert id(pool.take((2, 3)).base) == block  # nothing refers to it any more: reused


def test_sizes_are_matched_within_a_factor_of_two_and_free_blocks_stay_within_the_bound():
    pool = Pool(free_bytes=8_000)
    held = pool.take((100,))
    big = id(pool.take((1_000,)).base)  # 4,000 bytes, free at once
    assert id(pool.take((600,)).base) == big  # 600 <= 1,000 <= 1,200
    assert id(pool.take((400,)).base) != big  # 1,000 is more than twice 400
    for n in (1_700, 1_800, 1_900, 2_000):  # no free block fits; each new one is free again at once
        pool.take((n,))
    free = [i for i in range(len(pool.blocks)) if pool._unused(i)]
    assert sum(pool.blocks[i].nbytes for i in free) <= 8_000
    assert [pool.blocks[i].size for i in free] == [2_000]  # the most recent is the one kept
    assert any(block is held.base for block in pool.blocks)  # a block in use is never dropped from the count
    assert held.base.size == 100


def test_concurrent_takers_never_share_a_block():
    pool, taken, start = Pool(), [], threading.Barrier(8)

    def take():
        start.wait()
        for _ in range(20):
            taken.append(pool.take((64, 64)))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bases = {id(array.base) for array in taken}
    assert len(bases) == len(taken) == 160


def test_maps_from_extract_keep_their_numbers_while_later_extractions_reuse_memory():
    loaded = hf.load()
    first = extract(loaded, "The first sentence is about a cat on a mat.").primary
    kept = first.weights.copy()
    for text in ("Another sentence, about a dog.", "A third one that has nothing to do with either."):
        later = extract(loaded, text).primary
        assert not np.shares_memory(later.weights, first.weights)
        del later
    np.testing.assert_array_equal(first.weights, kept)
    del first
    gc.collect()
    known = [id(block) for block in POOL.blocks]  # the blocks the pool has now (the dropped maps' among them)
    again = extract(loaded, "The first sentence is about a cat on a mat.").primary
    assert id(again.weights.base) in known  # a dropped map's block, reused: no new memory
    np.testing.assert_array_equal(again.weights, kept)
    assert not again.weights.flags.writeable


def test_a_map_adopts_a_read_only_view_of_a_pool_block_but_copies_a_writeable_one():
    view = POOL.take((1, 1, 2, 2))
    view[:] = 0.5
    assert not np.shares_memory(AttentionMap(view, "ab", "ab", "self").weights, view)
    view.setflags(write=False)
    assert np.shares_memory(AttentionMap(view, "ab", "ab", "self").weights, view)
    other = Pool().take((1, 1, 2, 2))  # any pool's block: only its pool writes to it, and only once it is free
    other[:] = 0.5
    other.setflags(write=False)
    assert np.shares_memory(AttentionMap(other, "ab", "ab", "self").weights, other)


def test_a_read_only_view_of_anybody_elses_writeable_memory_is_copied_so_the_map_keeps_its_numbers():
    """The protection the adoption rule exists for: the owner of the memory can still write to it."""
    owner = np.full(8, 0.5, np.float32)  # writeable, held by its caller
    view = owner[:4].reshape(1, 1, 2, 2)
    view.setflags(write=False)
    attn = AttentionMap(view, "ab", "ab", "self")
    owner[:4] = [1.0, 0.0, 0.0, 1.0]  # the owner writes after the map was made
    np.testing.assert_array_equal(attn.weights, np.full((1, 1, 2, 2), 0.5, np.float32))
    assert not np.shares_memory(attn.weights, owner)


def test_the_data_type_does_not_import_the_pool():
    """The pool declares its blocks to the data type; the data type knows nothing of pools."""
    source = (Path(__file__).resolve().parents[2] / "attnviz" / "maps" / "attention_map.py").read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "numpy" in imported and not {name for name in imported if name.startswith("attnviz")}


def test_readmes_bounds_table_states_the_pools_bound():
    from attnviz.maps.buffers import FREE_BYTES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"| {FREE_BYTES // 1_000_000} MB, least recently used dropped |" in readme


def test_free_blocks_within_the_bound_are_kept_and_only_the_oldest_beyond_it_dropped():
    pool = Pool(free_bytes=20_000)
    pool.take((1_000,))  # 4,000 bytes, free at once
    pool.take((2_000,))  # 8,000 bytes, free at once (the 1,000 block is too small for it)
    pool.take((3_000,))  # 12,000 more: 24,000 in all, so the oldest free block (4,000) goes
    assert [block.size for block in pool.blocks] == [2_000, 3_000]
