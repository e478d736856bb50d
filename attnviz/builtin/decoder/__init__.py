"""attnviz's own small decoder, in Hugging Face format: its texts (tasks with known answers), tokenizer, training and
held-out figures. Loading it goes through :func:`attnviz.pretrained.hf.load` like any pretrained model; only
``python -m attnviz train`` imports the training code."""
