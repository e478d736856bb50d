"""Corpus jobs: input, job, pipeline (local or Ray), results."""
