"""Our own models: tasks, models, one fit(), evaluation, experiments, checkpoints, shipped weights."""
