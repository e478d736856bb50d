"""The reference set of mean ablation: each head's mean output over a set of sentences.

Each sentence runs alone (no padding to average over), cut to ``max_tokens``; the mean is over every position of
every sentence: ``[head, head_dim]`` per attention layer, the vector a mean-ablated head outputs at every
position. An encoder-decoder reads each sentence as its source and as its target (teacher-forced), so that its
decoder and cross-attention heads have a mean too. attnviz uses the built-in sentence sample
(:func:`attnviz.corpus.sentences.sample_sentences`); the caller passes the sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from attnviz.pretrained.ablate.grid import encoder_of
from attnviz.pretrained.ablate.knockout import Plan, layers_of, run
from attnviz.pretrained.ablate.probes import model_inputs
from attnviz.pretrained.hf import LoadedModel

MAX_SENTENCES = 32
MAX_TOKENS = 64

Means = dict[tuple[str, int], torch.Tensor]  # (part, layer) -> float64 [head, head_dim]


@torch.no_grad()
def reference_means(
    loaded: LoadedModel, sentences: Sequence[str], max_sentences: int = MAX_SENTENCES, max_tokens: int = MAX_TOKENS
) -> Means:
    """Every attention layer's mean head outputs over the first ``max_sentences`` non-empty ``sentences``."""
    sentences = [s for s in sentences if s.strip()][:max_sentences]
    if not sentences:
        raise ValueError("Mean ablation needs at least one reference sentence.")
    plan = Plan(None, sums={})
    limit = min(max_tokens, loaded.max_tokens)
    for sentence in sentences:
        ids = loaded.tokenizer(sentence)["input_ids"][:limit]
        inputs = model_inputs(loaded.model, ids, 1, loaded.device, _decoder_ids(loaded, sentence, limit))
        run(loaded.model, lambda inputs=inputs: loaded.model(**inputs), plan)
    layers = layers_of(plan.order, encoder_of(loaded))
    return {
        (part, layer): plan.sums[module][0] / plan.sums[module][1]
        for part, modules in layers.modules.items()
        for layer, module in enumerate(modules)
    }


def _decoder_ids(loaded: LoadedModel, sentence: str, limit: int) -> list[int] | None:
    if loaded.family != "encoder-decoder":
        return None
    config = loaded.model.config
    start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id
    target = loaded.tokenizer(text_target=sentence)["input_ids"][:limit]
    return [start, *target[:-1]]  # teacher-forced: the decoder reads the target shifted right
