"""Sentence matching (kexue.fm 8847 CoSENT, 8860 interaction vs features): pairs of sentences,
bi-encoders scored by the cosine of cached sentence vectors against a cross-encoder, Spearman
and accuracy at a threshold chosen on valid.

Protocol hooks a matching method provides: see ``methods/matching/base.py``.
"""

# One import per module that registers tasks (each must be torch-free at import time).
from tasks.matching import tasks  # noqa: F401
from tasks.matching import page  # noqa: F401  (registers results/tables/matching.md with `harness table --write`)
from tasks.matching import plots  # noqa: F401  (registers the family's figures with `harness plot`)
