"""Pretrained image-to-text models: where the model looks in the image while it writes each token.

Two kinds: captioners whose text decoder cross-attends to the image patches (``VisionEncoderDecoderModel``, BLIP)
and vision-language decoders that put image tokens into the text sequence (LLaVA, LLaVA-NeXT, PaliGemma, Qwen2-VL,
Idefics3 / SmolVLM). :mod:`.record` keeps, per generated token, only the attention rows over the context;
:mod:`.layouts` maps each image token back to its tile and cell; :mod:`.run` generates or feeds an answer.
"""
