"""--engine ray writes the very files the local engine writes (a local Ray with 2 CPUs, started and shut down here)."""

import random

import pandas as pd
import pytest

from attnviz.corpus import pipeline as corpus_pipeline

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")


@pytest.mark.slow  # 74 s on the shared 2-core machine, most of it Ray starting its processes and actors
def test_local_and_ray_engines_write_identical_parquet_on_200_sentences(tmp_path):
    from hf_models import save_tiny

    model = str(save_tiny("bert", tmp_path / "tiny-bert"))
    rng = random.Random(0)
    words = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "because", "it", "was", "tired", ",", "and"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 30))) for _ in range(200)]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = dict(model=model, shard_size=50)
    corpus_pipeline.run(corpus, tmp_path / "local", corpus_pipeline.Options(**options))
    ray_options = {"num_cpus": 2, "actors": 2}
    summary = corpus_pipeline.run(
        corpus, tmp_path / "ray", corpus_pipeline.Options(**options, engine="ray", ray=ray_options)
    )
    assert not ray.is_initialized()  # the Ray it started is shut down again
    assert summary["sentences"] == 200 and summary["shards"] == 4
    for index in range(4):
        name = f"shards/part-{index:05d}.parquet"
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    for name in ("aggregates.parquet", "extremes.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "ray" / name), pd.read_parquet(tmp_path / "local" / name)
        )
