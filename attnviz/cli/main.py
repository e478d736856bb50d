"""The command line: ``python -m attnviz train | evaluate | extract | corpus | corpus-search | figure | long | ablate |
experiment | home``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from attnviz.settings import DEFAULT_DECODER as DECODER


def _pairs(task: str, architecture: str, score: str | None) -> list[tuple[str, str]]:
    """The shipped (task, model) pairs a command names; exits with one sentence if the two don't go together."""
    from attnviz.builtin.models.registry import MODEL_NAMES, check_pair, model_name, shipped

    try:
        if architecture == "all":
            if score:
                raise ValueError("--score picks one rnn: use it with --model rnn")
            return shipped(task)
        name = architecture if architecture in MODEL_NAMES and not score else model_name(architecture, score)
        if task != "all":
            check_pair(task, name)
        return [(t, m) for t, m in shipped(task) if m == name]
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def cmd_train(args: argparse.Namespace) -> int:
    from attnviz.builtin.checkpoints import save_checkpoint
    from attnviz.builtin.evaluate import evaluate
    from attnviz.builtin.train import train

    if args.name:
        return train_decoder(args)
    if not args.task or not args.model:
        raise SystemExit(f"error: train needs --task and --model, or the name of the packaged decoder ({DECODER})")
    changes = {"seed": args.seed} | ({"steps": args.steps} if args.steps else {})
    for task_name, model_name in _pairs(args.task, args.model, args.score):
        model, report = train(task_name, model_name, progress=not args.quiet, **changes)
        path = save_checkpoint(model, task_name, model_name, report, Path(args.out) if args.out else None)
        scores = evaluate(task_name, model_name, n=1000, seed=0, model=model)
        scores.pop("per_head", None)
        summary = {"checkpoint": str(path), "steps": report["steps"], "seconds": round(report["seconds"], 1)}
        print(json.dumps({**summary, **scores}))
    return 0


def train_decoder(args: argparse.Namespace) -> int:
    """Train the packaged decoder (Hugging Face format) and save its folder and held-out figures."""
    from attnviz.builtin.decoder.train import train_and_save

    if args.task or args.model or args.score:
        raise SystemExit(f"error: {args.name} trains on its own texts: leave out --task, --model and --score")
    summary = train_and_save(args.seed, args.steps, Path(args.out) if args.out else None, progress=not args.quiet)
    summary.pop("validation", None)
    print(json.dumps(summary))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from attnviz.builtin.evaluate import evaluate, markdown_table

    if args.all:
        table = markdown_table(n=args.n, seed=args.seed)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n", encoding="utf-8")
        return 0
    if not args.task or not args.model:
        raise SystemExit("evaluate needs --task and --model (or --all)")
    [(task_name, model_name)] = _pairs(args.task, args.model, args.score)
    print(json.dumps(evaluate(task_name, model_name, n=args.n, seed=args.seed), indent=2))
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from attnviz.cli.extract import extract

    return extract(args)


def cmd_experiment(args: argparse.Namespace) -> int:
    from attnviz.builtin import experiments

    result = experiments.runner(args.name)()
    path = experiments.save(args.name, result, Path(args.out) if args.out else None)
    print(json.dumps(result, indent=1))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_home(args: argparse.Namespace) -> int:
    from attnviz.builtin import home

    path = Path(args.out) if args.out else home.PATH
    pictures = home.compute()
    for written in [home.save(pictures, path), *home.save_svgs(pictures, path.with_suffix(""))]:
        print(f"wrote {written}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    from attnviz.builtin.models.registry import ARCHITECTURES, MODEL_NAMES, SCORES, TASK_NAMES

    models = list(dict.fromkeys([*ARCHITECTURES, *MODEL_NAMES]))  # an architecture, or one model by its name

    p = argparse.ArgumentParser(prog="python -m attnviz", description="attnviz without the UI.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a built-in model and save its checkpoint")
    t.add_argument("name", nargs="?", choices=[DECODER], help="the packaged decoder (instead of --task and --model)")
    t.add_argument("--task", choices=[*TASK_NAMES, "all"])
    t.add_argument("--model", choices=[*models, "all"])
    t.add_argument("--score", choices=SCORES, help="rnn only (default: every score with --model all, else additive)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, help="maximum training steps (default: the model's)")
    t.add_argument(
        "--out", help="checkpoint file, or the decoder's folder (default: the shipped one in attnviz/builtin/weights/)"
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy and attention alignment of a shipped checkpoint, as JSON")
    e.add_argument("--task", choices=TASK_NAMES)
    e.add_argument("--model", choices=models)
    e.add_argument("--all", action="store_true", help="every shipped checkpoint, as a markdown table")
    e.add_argument("--markdown", help="with --all: also write the table to this file")
    e.add_argument("--score", choices=SCORES)
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=cmd_evaluate)
    x = sub.add_parser("extract", help="attention of a pretrained model for a text or an image, to .npz/.json/.csv")
    x.add_argument("--model", default=None, help="Hugging Face id or local path (default: packaged MiniLM)")
    x.add_argument("--text", help="the text (text models), or the prompt (image-to-text models)")
    x.add_argument(
        "--image",
        help="an image file (vision transformers: ViT, DeiT, BEiT, DINOv2, CLIP, SigLIP; image-to-text models: "
        "LLaVA, LLaVA-NeXT, PaliGemma, Qwen2-VL, Idefics3, BLIP, ViT + GPT-2)",
    )
    x.add_argument("--pair", help="second sentence, for encoder models that take pairs")
    x.add_argument(
        "--target",
        help="target text for encoder-decoder models (default: generated); "
        "for image-to-text models, the answer fed in after the prompt",
    )
    x.add_argument("--word-level", action="store_true", help="pool sub-word tokens into words")
    x.add_argument("--out", required=True)
    x.set_defaults(run=cmd_extract)
    from attnviz.cli.corpus import add_parser

    add_parser(sub)
    from attnviz.cli.corpus_search import add_parser as add_search_parser

    add_search_parser(sub)
    from attnviz.cli.figure import add_parser as add_figure_parser

    add_figure_parser(sub)
    from attnviz.cli.long import add_parser as add_long_parser

    add_long_parser(sub)
    from attnviz.cli.ablate import add_parser as add_ablate_parser

    add_ablate_parser(sub)
    from attnviz.builtin.experiments import EXPERIMENT_NAMES

    r = sub.add_parser("experiment", help="run one 'why attention' experiment: JSON, and its results file")
    r.add_argument("name", choices=EXPERIMENT_NAMES)
    r.add_argument("--out", help="results file (default: the shipped one in attnviz/builtin/results/)")
    r.set_defaults(run=cmd_experiment)
    h = sub.add_parser("home", help="draw the home page's pictures from the shipped checkpoints again")
    h.add_argument(
        "--out", help="maps file; the SVGs go in the folder of its name (default: attnviz/builtin/results/home.npz)"
    )
    h.set_defaults(run=cmd_home)
    return p


# The shipped checkpoints were trained with torch's AVX2 kernels, and oneDNN's (the LSTM's). A machine that
# would pick others (AVX512, say) rounds differently in the last bit, so `train` pins both: the same weights on
# every x86-64 machine.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    unpinned = any(os.environ.get(k) != v for k, v in PINNED_KERNELS.items())
    # Before the parser is built: building it imports the corpus command's modules, and with them torch, which
    # reads the variable once, at import.
    if argv[:1] == ["train"] and unpinned and "torch" not in sys.modules:
        os.execve(sys.executable, [sys.executable, "-m", "attnviz", *argv], {**os.environ, **PINNED_KERNELS})
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
