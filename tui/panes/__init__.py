"""Textual widgets, one module per pane: they render a model and nothing else."""
