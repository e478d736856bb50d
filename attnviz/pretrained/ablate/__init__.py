"""Knock heads out and measure what changes (docs/ablation.md).

:mod:`.knockout` changes heads inside the model's own attention (zero, mean, first-token; one edge),
:mod:`.probes` reads one number per input copy by model family (cosine, logprob, kl), :mod:`.grid` runs every
head at once in batches, :mod:`.reference` computes mean ablation's reference means.
"""
