"""Shared code of the CIFAR-10 CNN course: data, run modes, seeds, plots, checks, release.

Notebooks stay thin: whatever is reused or graded lives here, with unit tests in ``tests/``.
"""
