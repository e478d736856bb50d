"""The HAN on the documents task: training, checkpoint, evaluation, and its attention as AttentionMaps."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from attnviz.attention import AttentionMap
from attnviz.models.han import HAN, HANConfig
from attnviz.tasks import documents as docs
from attnviz.train import load_weights, save_weights

CHECKPOINT = Path(__file__).parent / "weights" / "documents-han.pt"
INDEX = {w: i + 1 for i, w in enumerate(docs.vocabulary())}  # 0 is padding


@dataclass
class HANTraining:
    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    eval_every: int = 250
    stop_at: float = 0.995


def encode(batch: list[tuple[tuple[str, ...], ...]]) -> torch.Tensor:
    """Documents -> ids (B, sentences, words), zero-padded."""
    S = max(len(d) for d in batch)
    W = max(len(s) for d in batch for s in d)
    ids = torch.zeros(len(batch), S, W, dtype=torch.long)
    for b, document in enumerate(batch):
        for i, sentence in enumerate(document):
            ids[b, i, : len(sentence)] = torch.tensor([INDEX[w] for w in sentence])
    return ids


def train_han(config: HANTraining | None = None) -> tuple[HAN, dict]:
    config = config or HANTraining()
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = HAN(HANConfig(vocab_size=len(INDEX) + 1, classes=len(docs.LABELS)))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    rng = random.Random(f"documents:train:{config.seed}")
    report, start = {"losses": [], "validation": []}, time.perf_counter()
    try:
        for step in range(config.steps):
            model.train()
            batch = [docs.sample(rng) for _ in range(config.batch_size)]
            labels = torch.tensor([docs.LABELS.index(d.label) for d in batch])
            loss = nn.functional.cross_entropy(model(encode([d.sentences for d in batch]))[0], labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            report["losses"].append(loss.item())
            if (step + 1) % config.eval_every == 0:
                accuracy = evaluate_han(model, n=300, seed=10_000 + config.seed)["accuracy"]
                report["validation"].append((step + 1, accuracy))
                if accuracy >= config.stop_at:
                    break
    finally:
        torch.set_num_threads(threads)
    report.update(steps=len(report["losses"]), seconds=time.perf_counter() - start, config=asdict(config))
    return model.eval(), report


@torch.no_grad()
def evaluate_han(model: HAN, n: int = 1000, seed: int = 0) -> dict:
    """Accuracy, and how often the top sentence (and, inside it, the top word) is the gold evidence."""
    model.eval()
    held_out = docs.documents(n, seed)
    logits, words, sentences = model(encode([d.sentences for d in held_out]))
    predicted = logits.argmax(-1).tolist()
    correct = sum(docs.LABELS[p] == d.label for p, d in zip(predicted, held_out, strict=True))
    top_sentence = sentences.argmax(-1).tolist()
    on_evidence = sum(s == d.evidence for s, d in zip(top_sentence, held_out, strict=True))
    top_word = [int(words[b, d.evidence].argmax()) for b, d in enumerate(held_out)]
    on_word = sum(w == d.evidence_word for w, d in zip(top_word, held_out, strict=True))
    return {
        "task": "documents",
        "model": "han",
        "n": n,
        "seed": seed,
        "accuracy": correct / n,
        "top_sentence_is_evidence": on_evidence / n,
        "top_word_is_evidence_word": on_word / n,
    }


def save_han(model: HAN, report: dict, path: Path = CHECKPOINT) -> Path:
    return save_weights(model, path, report, model="han")


def load_han(path: Path = CHECKPOINT) -> HAN:
    return load_weights(path, lambda payload: HAN(HANConfig(**payload["config"])))[0]


@dataclass(frozen=True)
class Classified:
    document: docs.Document  # with the rules' label and evidence, where they find one
    probabilities: dict[str, float]
    words: list[AttentionMap]  # one per sentence: [1, 1, 1, words], kind "word"
    sentences: AttentionMap  # [1, 1, 1, sentences], kind "sentence"


@torch.no_grad()
def classify(model: HAN, sentences: tuple[tuple[str, ...], ...]) -> Classified:
    logits, words, weights = model(encode([sentences]))
    probabilities = dict(zip(docs.LABELS, torch.softmax(logits[0], -1).tolist(), strict=True))

    def as_map(w: torch.Tensor, keys, kind: str) -> AttentionMap:
        w = w.double()
        return AttentionMap((w / w.sum()).numpy()[None, None, None], ("document",), keys, kind, "han · documents")

    word_maps = [as_map(words[0, i, : len(s)], s, "word") for i, s in enumerate(sentences)]
    labels = tuple(f"sentence {i + 1}" for i in range(len(sentences)))
    sentence_map = as_map(weights[0, : len(sentences)], labels, "sentence")
    return Classified(docs.reference(sentences), probabilities, word_maps, sentence_map)


def weights_of(result: Classified) -> tuple[np.ndarray, np.ndarray]:
    """(word attention (sentences, max words) NaN-padded, sentence attention (sentences,))."""
    width = max(m.n_keys for m in result.words)
    grid = np.full((len(result.words), width), np.nan, dtype=np.float32)
    for i, m in enumerate(result.words):
        grid[i, : m.n_keys] = m.weights[0, 0, 0]
    return grid, result.sentences.weights[0, 0, 0]
