"""attnviz: see attention. Built-in seq2seq, memory and hierarchical attention models next to pretrained
Hugging Face models, with every layer's and head's attention as one type, :class:`AttentionMap`."""

from attnviz.maps.attention_map import AttentionMap

__version__ = "0.1.0"
__all__ = ["AttentionMap", "__version__"]
