"""Command line: ``python -m attnviz train | evaluate | extract``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MODEL_CHOICES = ("rnn", "transformer", "ntm", "han")
EXTRA = {("copy", "ntm"), ("documents", "han")}  # the memory and hierarchy models have a task each


def _extra(task: str | None, model: str | None) -> bool:
    if (task, model) in EXTRA:
        return True
    if task in ("copy", "documents") or model in ("ntm", "han"):
        raise SystemExit("the copy task goes with --model ntm, the documents task with --model han")
    return False


def train_extra(task: str, seed: int, steps: int | None) -> dict:
    """Train, save and evaluate the NTM (copy) or the HAN (documents)."""
    if task == "copy":
        from attnviz.memory import NTMTraining, save_ntm, train_ntm

        config = NTMTraining(seed=seed, **({"steps": steps} if steps else {}))
        model, report = train_ntm(config)
        path = save_ntm(model, report)
    else:
        from attnviz.hierarchy import HANTraining, save_han, train_han

        model, report = train_han(HANTraining(seed=seed, **({"steps": steps} if steps else {})))
        path = save_han(model, report)
    return {"checkpoint": str(path), "steps": report["steps"], "seconds": round(report["seconds"], 1)}


def evaluate_extra(task: str, n: int, seed: int) -> dict:
    if task == "copy":
        from attnviz.memory import evaluate_ntm, load_ntm

        return evaluate_ntm(load_ntm(), n=n, seed=seed)
    from attnviz.hierarchy import evaluate_han, load_han

    return evaluate_han(load_han(), n=n, seed=seed)


def _model_name(model: str, score: str | None) -> str:
    if model == "rnn":
        return f"rnn-{score or 'additive'}"
    if score:
        raise SystemExit("--score applies to the rnn model only")
    return model


def cmd_train(args: argparse.Namespace) -> int:
    from attnviz.evaluate import evaluate
    from attnviz.models import MODEL_NAMES
    from attnviz.tasks import TASKS
    from attnviz.train import default_config, save_checkpoint, train

    if _extra(args.task, args.model):
        print(json.dumps(train_extra(args.task, args.seed, args.steps)))
        return 0
    tasks = list(TASKS) if args.task == "all" else [args.task]
    models = list(MODEL_NAMES) if args.model == "all" else [_model_name(args.model, args.score)]
    for task_name in tasks:
        for model_name in models:
            config = default_config(model_name)
            config.seed = args.seed
            config.steps = args.steps or config.steps
            model, report = train(task_name, model_name, config, progress=not args.quiet)
            path = save_checkpoint(model, task_name, model_name, report, Path(args.out) if args.out else None)
            scores = evaluate(task_name, model_name, n=1000, seed=0, model=model)
            scores.pop("per_head", None)
            print(
                json.dumps(
                    {
                        "checkpoint": str(path),
                        "steps": report["steps"],
                        "seconds": round(report["seconds"], 1),
                        **scores,
                    }
                )
            )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from attnviz.evaluate import evaluate, markdown_table

    if args.all:
        table = markdown_table(n=args.n, seed=args.seed)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n", encoding="utf-8")
        return 0
    if not args.task or not args.model:
        raise SystemExit("evaluate needs --task and --model (or --all)")
    if _extra(args.task, args.model):
        print(json.dumps(evaluate_extra(args.task, args.n, args.seed), indent=2))
        return 0
    print(json.dumps(evaluate(args.task, _model_name(args.model, args.score), n=args.n, seed=args.seed), indent=2))
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from attnviz.cli_extract import extract

    return extract(args)


def parser() -> argparse.ArgumentParser:
    from attnviz.tasks import TASKS

    p = argparse.ArgumentParser(prog="python -m attnviz", description="attnviz without the UI.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a built-in model and save its checkpoint")
    t.add_argument("--task", choices=[*TASKS, "copy", "documents", "all"], required=True)
    t.add_argument("--model", choices=[*MODEL_CHOICES, "all"], required=True)
    t.add_argument("--score", choices=("additive", "dot", "scaled"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, help="maximum training steps (default: the model's)")
    t.add_argument("--out", help="checkpoint file (default: the shipped one in attnviz/weights/)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy and attention alignment of a shipped checkpoint, as JSON")
    e.add_argument("--task", choices=[*TASKS, "copy", "documents"])
    e.add_argument("--model", choices=MODEL_CHOICES)
    e.add_argument("--all", action="store_true", help="every shipped checkpoint, as a markdown table")
    e.add_argument("--markdown", help="with --all: also write the table to this file")
    e.add_argument("--score", choices=("additive", "dot", "scaled"))
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=cmd_evaluate)
    x = sub.add_parser("extract", help="attention of a pretrained model for a text, to .npz / .json / .csv")
    x.add_argument("--model", default=None, help="Hugging Face id or local path (default: packaged MiniLM)")
    x.add_argument("--text", required=True)
    x.add_argument("--pair", help="second sentence, for encoder models that take pairs")
    x.add_argument("--target", help="target text for encoder-decoder models (default: generated)")
    x.add_argument("--word-level", action="store_true", help="pool sub-word tokens into words")
    x.add_argument("--out", required=True)
    x.set_defaults(run=cmd_extract)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
