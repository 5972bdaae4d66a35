"""harness: re-run published ML claims as a grid of (task, method, params, seed) cells."""

__version__ = "0.1.0"
