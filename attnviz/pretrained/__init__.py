"""Hugging Face models: loading with eager attention, capture, generation, attribution, two models, vision."""
