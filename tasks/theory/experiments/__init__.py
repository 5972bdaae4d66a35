"""Seeded small experiments of the ``theory`` family: FlatNCE vs InfoNCE at small batch (8586),
FGM and the gradient penalty on text classification (7234), WEISSI vs L2 (7681) and flooding vs
its alternating variant vs an explicit gradient penalty (7643). Each task trains a small model
per (method, seed) and the claims in ``claims.toml`` compare methods paired over seeds; the
methods and the hooks they implement are in ``methods/theory/exp_*.py`` and
``methods/theory/experiments.py``."""
