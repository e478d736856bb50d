"""A quick smoke run of the benchmark suite, so that it cannot rot (its numbers are not checked here)."""

import subprocess
import sys
from pathlib import Path

import pytest
from browser_check import need_chromium

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a whole python -m benchmarks --smoke run: 15-20 s
def test_benchmark_smoke_run_writes_its_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--no-bertviz", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    text = out.read_text()
    for section in ("## Budgets", "## Extraction", "## Figures", "## Built-in models", "## Image to text"):
        assert section in text
    assert "| 16 |" in text
    assert "Softmax of the streamed extraction in these rows: " in text


def test_every_word_the_browser_detectors_wait_for_is_one_token_of_the_model():
    """The detectors wait for a word as the first tick label: a word the tokenizer splits (foxtrot -> fox ##tro
    ##t) never appears there, and a drawn submission would be counted as lost."""
    from attnviz.pretrained import hf
    from benchmarks.browser import MARKERS
    from benchmarks.load import WORDS

    tokenizer = hf.load().tokenizer
    assert [word for word in (*MARKERS, *WORDS) if tokenizer.tokenize(word) != [word]] == []


@pytest.mark.browser
def test_the_browser_section_measures_every_timing_with_nothing_lost():
    """One round of `benchmarks.browser` (the smoke run leaves the browser out): each detector sees its view
    drawn, so a change to the page that breaks a detector fails here and not in the next full run."""
    from benchmarks.browser import browser

    need_chromium()
    found = browser(["a", "short", "sentence", "for", "the", "timing"], 1)
    assert found["timeouts"] == 0
    names = ("cold_start", "submit", "overview", "slider", "submit_wall", "overview_wall", "slider_wall")
    assert all(0 < found[f"{name}_s"] < 60 for name in names), found
    assert all(found[f"{name}_s"] <= found[f"{name}_wall_s"] for name in ("submit", "overview", "slider")), found
    assert found["server_peak_mb"] > 100


def test_the_softmax_comparison_runs_every_path_in_turns():
    """``python -m benchmarks.long compare`` (docs/long.md's table), on the smoke model."""
    command = [sys.executable, "-m", "benchmarks.long", "compare", "16", "1", "1"]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=600).stdout
    assert "| tokens | turns | SDPA | torch | compiled | C |" in out and "\n| 16 | 1 |" in out
    assert "torch.compile's first compilation (background)" in out


def test_the_ablation_benchmark_on_tiny_sizes_times_the_grid_the_library_computes(tmp_path):
    """benchmarks/ablate.py on the smoke decoder and an 8-token MiniLM sentence: its grid is the library's, its
    report section replaces its own marked block and nothing else."""
    import numpy as np
    import torch

    from attnviz.pretrained.ablate import grid
    from attnviz.pretrained.ablate.probes import Probe
    from attnviz.pretrained.hf import LoadedModel
    from benchmarks import ablate
    from benchmarks.long import decoder

    found = ablate.run(smoke=True)
    assert found["minilm"]["tokens"] == 8 and found["minilm"]["heads"] == 72
    assert found["minilm"]["grid_s"] > 0 and found["minilm"]["plain_s"] > 0
    tiny = found["decoder"]
    assert (tiny["tokens"], tiny["layers"], tiny["heads"]) == (32, 2, 8)
    model = decoder(32, True)
    ids = torch.randint(0, model.config.vocab_size, (33,), generator=torch.Generator().manual_seed(0)).tolist()
    probe = Probe("decoder", "logprob", tuple(ids[:-1]), tuple(map(str, ids[:-1])), (ids[-1],), (str(ids[-1]),))
    expected = grid.importance(LoadedModel("d", "decoder", model, None, 32, "cpu"), probe, "zero").effect
    np.testing.assert_allclose(tiny["effect"], expected, atol=1e-6)
    assert np.abs(expected).max() > 0
    report = tmp_path / "benchmarks.md"
    report.write_text(f"# before\n\n{ablate.BEGIN}\nold\n{ablate.END}\n\n## after\n", encoding="utf-8")
    ablate.write(ablate.lines(found, "python -m benchmarks.ablate --smoke"), report)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# before\n\n<!-- ablate:begin -->") and text.endswith(f"{ablate.END}\n\n## after\n")
    assert "\nold\n" not in text and "| random decoder (2 layers" in text and text.count("ablation: ") == 3


@pytest.mark.slow  # builds the realistic 12-layer decoder (8 s)
def test_the_peak_measurement_runs_the_realistic_decoder_once_and_counts_what_it_keeps():
    """``python -m benchmarks.long peak N`` (docs/reliability.md's 32,768-token figure), at 32 tokens: the stored
    result is every layer's queries and keys (12 layers x (12 + 4) heads x 32 tokens x 64 floats) and both
    thumbnails (144 heads x 32 x 32 cells, as they are and with the first token aside), and little else."""
    from benchmarks.long import measure_peak

    found = measure_peak(32)
    kept_mb = (12 * (12 + 4) * 32 * 64 + 2 * 144 * 32 * 32) * 4 / 2**20
    assert found["tokens"] == 32 and found["seconds"] > 0
    assert kept_mb <= found["stored_mb"] < kept_mb + 0.1
    assert found["peak_mb"] >= found["model_mb"] > 0


def test_the_corpus_speed_benchmark_times_the_job_and_the_bare_forward_on_the_same_sentences(tmp_path):
    from attnviz.corpus import results as corpus_results
    from benchmarks import corpus_speed

    measured = corpus_speed.side_by_side(tmp_path, 16, 1)
    assert measured["bare"] > 0 and measured["job"] > 0 and measured["sentences"] == 16
    assert corpus_results.load(tmp_path / "speed-job").summary["sentences"] == 16  # the job ran to its end
    two = {"sentences": 40, "seconds": 4.0, "job_s": 2.0, "peak_mb": 900.0}
    local, ray = {"seconds": 5.0, "job_s": 4.0, "peak_mb": 500.0}, {"seconds": 9.0, "job_s": 8.0, "peak_mb": 2000.0}
    ray = {"sentences": 40, "local": local, "ray": ray}
    text = corpus_speed.report({"side_by_side": measured, "two_processes": two, "ray": ray | {"identical": True}}, "c")
    assert f"| corpus job / bare batched forward >= 0.8 (1 thread) | {measured['job'] / measured['bare']:.2f} |" in text
    assert f"{1_000_000 / 20 / 3600:.1f} h with 2 processes" in text  # 40 sentences in 2 s
    assert "speed-up of Ray's 2 actors over 1 local process: 0.50x, for 4.0x the memory" in text
    assert "**paper projection, not measured**: 2.5 sentences / s an actor" in text


def test_the_corpus_search_benchmark_gets_the_same_answers_from_both_engines(tmp_path):
    from benchmarks import corpus_search

    results = corpus_search.measure(tmp_path, 7200)
    assert [(r["engine"], r["rows"]) for r in results["runs"]] == [
        ("duckdb", 720),
        ("pyarrow", 720),
        ("duckdb", 7200),
        ("pyarrow", 7200),
    ]
    first, second = results["runs"][2]["answers"], results["runs"][3]["answers"]
    assert first == second and first["head"][0] > 0 and sum(first["histogram"]) == 7200
    assert "Both engines give the same pages, totals and histogram: yes." in corpus_search.report(results, "c")


@pytest.mark.slow  # two fresh processes and 32 tokens each way: about 25 s
def test_the_image_to_text_benchmark_on_tiny_sizes_keeps_every_row_of_32_tokens(tmp_path):
    """benchmarks/image_text.py on the smoke LLaVA: both sides write 32 tokens, attnviz keeps every layer's and
    head's row of each, both peaks are measured in fresh processes, and its section replaces its own block."""
    from benchmarks import image_text

    found = image_text.run(smoke=True)
    assert found["steps"] == 32 and found["image_tokens"] == 16
    layers, heads, steps, keys = found["rows_shape"]
    assert (layers, heads, steps) == (2, 4, 32) and keys > 16 + 31
    assert found["baseline"] > 0 and found["attnviz"] > 0
    assert found["baseline_peak_mb"] >= 0 and found["attnviz_peak_mb"] >= 0
    report = tmp_path / "benchmarks.md"
    report.write_text(f"# before\n\n{image_text.BEGIN}\nold\n{image_text.END}\n", encoding="utf-8")
    image_text.write(
        image_text.lines(found, "python -m benchmarks.image_text --smoke"), report, image_text.BEGIN, image_text.END
    )
    text = report.read_text(encoding="utf-8")
    assert "\nold\n" not in text and text.count("image to text: ") == 2 and text.startswith("# before\n\n")
