"""Image to text at a realistic size: 32 answer tokens of a random LLaVA (a CLIP-B-sized vision tower, 768 wide,
12 layers, at 336 pixels in 14-pixel patches = 576 image tokens; a 12 x 12 Llama-style decoder, d 768) with every
layer's and head's row kept per token (attnviz/pretrained/image_text), against the model's own ``generate``
without attentions (processor included in both).

Times are medians of runs taken in turns in one process; peak memory is measured in a fresh process per side
(the resident set's high-water mark reset after the model is built: ``/proc/self/clear_refs``), the budget being
the difference of the two peaks. ``python -m benchmarks.image_text [--smoke]`` writes its section into
docs/benchmarks.md between its markers; ``python -m benchmarks`` runs it with the rest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.ablate import write
from benchmarks.long import _peak_mb

ROOT = Path(__file__).parents[1]
NEW_TOKENS, RATIO_BUDGET, MEMORY_BUDGET_MB = 32, 1.3, 300
BEGIN, END = "<!-- image-text:begin -->", "<!-- image-text:end -->"
PROMPT = "Describe the picture in detail."
REALISTIC = dict(
    vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
    text=dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12),
    image_size=336,
    patch_size=14,
)
SMOKE = dict(
    vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4),
    text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
    image_size=32,
    patch_size=8,
)


def random_llava(vision: dict, text: dict, image_size: int, patch_size: int, eos: int | None = 102):
    """(model, processor): a LLaVA of random weights (seed 0) over the packaged MiniLM tokenizer with ``<image>``
    added; a CLIP vision tower (``image_size``, ``patch_size``) read at its last layer, class token dropped."""
    import torch
    import transformers as tf
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from attnviz.pretrained.hf import packaged_path

    tokenizer = tf.AutoTokenizer.from_pretrained(packaged_path())
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    tokenizer.model_max_length = 4096  # MiniLM says 128: the prompt holds every image token
    text = dict(text, num_key_value_heads=text.get("num_key_value_heads", text["num_attention_heads"] // 2))
    config = tf.LlavaConfig(
        vision_config=tf.CLIPVisionConfig(image_size=image_size, patch_size=patch_size, **vision),
        text_config=tf.LlamaConfig(
            vocab_size=len(tokenizer),
            max_position_embeddings=2048,
            bos_token_id=101,
            eos_token_id=eos,
            pad_token_id=0,
            **text,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    size = {"shortest_edge": image_size}
    images = CLIPImageProcessorPil(size=size, crop_size={"height": image_size, "width": image_size})
    processor = tf.LlavaProcessor(images, tokenizer, patch_size=patch_size, vision_feature_select_strategy="default")
    processor.num_additional_image_tokens = 1  # CLIP's class token, dropped by the "default" strategy
    torch.manual_seed(0)
    return tf.LlavaForConditionalGeneration(config).eval(), processor


def loaded_llava(smoke: bool):
    """The benchmark's model as attnviz holds one (no end token: every run writes all 32 tokens)."""
    from attnviz.pretrained.image_text.load import LoadedImageText

    model, processor = random_llava(**(SMOKE if smoke else REALISTIC), eos=None)
    model.generation_config.eos_token_id = None
    return LoadedImageText("random LLaVA", "llava", model, processor, processor.tokenizer)


def picture(side: int):
    import numpy as np
    from PIL import Image

    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))


def sides(loaded, image):
    """(baseline, attnviz): the model's own generate without attentions, and attnviz's generate."""
    import torch

    from attnviz.pretrained.image_text.load import inputs
    from attnviz.pretrained.image_text.run import generate

    def baseline():
        with torch.no_grad():
            fed = inputs(loaded, image, PROMPT)
            return loaded.model.generate(**fed, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0)

    return baseline, lambda: generate(loaded, image, PROMPT, NEW_TOKENS, NEW_TOKENS)


def timed(smoke: bool, repeats: int) -> dict:
    """Median seconds of each side, run in turns after one warm-up each; the steps and rows attnviz kept."""
    loaded = loaded_llava(smoke)
    image = picture(64 if smoke else 448)
    baseline, ours = sides(loaded, image)
    baseline(), ours()
    times = {"baseline": [], "attnviz": []}
    for _ in range(repeats):
        for name, side in (("baseline", baseline), ("attnviz", ours)):
            start = time.perf_counter()
            result = side()
            times[name].append(time.perf_counter() - start)
    rows = result.rows.weights
    found = {name: statistics.median(values) for name, values in times.items()}
    return found | {"steps": result.steps, "rows_shape": list(rows.shape), "image_tokens": len(result.image_positions)}


def peak_child(side: str, smoke: bool) -> dict:
    """In this fresh process: build, reset the high-water mark, run ``side`` once; MB above the resident set."""
    loaded = loaded_llava(smoke)
    image = picture(64 if smoke else 448)
    baseline, ours = sides(loaded, image)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _peak_mb()
    (baseline if side == "baseline" else ours)()
    return {"side": side, "above_mb": _peak_mb() - before}


def _peak(side: str, smoke: bool) -> float:
    command = [sys.executable, "-m", "benchmarks.image_text", "--peak", side] + (["--smoke"] if smoke else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1200)
    return json.loads(done.stdout.strip().splitlines()[-1])["above_mb"]


def run(smoke: bool = False, repeats: int = 3) -> dict:
    found = timed(smoke, 1 if smoke else repeats)
    return found | {"baseline_peak_mb": _peak("baseline", smoke), "attnviz_peak_mb": _peak("attnviz", smoke)}


def budget(found: dict) -> list[tuple[str, str, bool]]:
    ratio = found["attnviz"] / found["baseline"]
    extra = found["attnviz_peak_mb"] - found["baseline_peak_mb"]
    return [
        (
            f"image to text: {NEW_TOKENS} tokens, every row kept <= {RATIO_BUDGET:g}x generate",
            f"{ratio:.2f}x",
            ratio <= RATIO_BUDGET,
        ),
        (
            f"image to text: peak memory <= {MEMORY_BUDGET_MB} MB above generate's",
            f"{extra:+.0f} MB",
            extra <= MEMORY_BUDGET_MB,
        ),
    ]


def lines(found: dict, command: str) -> list[str]:
    layers, heads, steps, keys = found["rows_shape"]
    return [
        BEGIN,
        "## Image to text: every row of every answer token kept",
        "",
        f"By `{command}` (`benchmarks/image_text.py`): a random LLaVA, {found['image_tokens']} image tokens, "
        f"{steps} answer tokens; rows kept {layers} layers x {heads} heads x {steps} tokens x {keys} keys.",
        "",
        "| side | median time | peak memory above the built model |",
        "|---|---:|---:|",
        f"| model's own generate, no attentions | {found['baseline']:.2f} s | {found['baseline_peak_mb']:.0f} MB |",
        f"| attnviz (rows kept, probabilities, cells) | {found['attnviz']:.2f} s | {found['attnviz_peak_mb']:.0f} MB |",
        "",
        "| budget | measured | met |",
        "|---|---:|:---:|",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in budget(found)],
        END,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.image_text", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (numbers not for reporting)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--peak", choices=["baseline", "attnviz"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak:
        print(json.dumps(peak_child(args.peak, args.smoke)))
        return 0
    command = "python -m benchmarks.image_text " + " ".join(argv if argv is not None else sys.argv[1:])
    section = lines(run(args.smoke, args.repeats), command.strip())
    write(section, Path(args.out), BEGIN, END)
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
