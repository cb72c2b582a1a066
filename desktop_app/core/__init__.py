"""The Classifier Studio engine: data import, models, training, evaluation and prediction.

Nothing in this package imports Qt (an import-linter contract in pyproject.toml enforces it),
so the CLI, the GUI, the benchmarks and a headless multi-GPU server all drive the same code.
"""
