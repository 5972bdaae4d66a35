"""Sentence-matching methods: the training objectives compared by kexue.fm 8847 and 8860.

Bi-encoders (``cosent``, ``sbert``, ``cosine_mse``) score a pair by the cosine of two sentence
vectors; the cross-encoder (``interaction``) scores the concatenated pair. The hooks the
protocol of ``tasks.matching`` calls are declared in :mod:`methods.matching.base`.
"""

# One import per module that registers methods (each must be torch-free at import time).
from methods.matching import cosent  # noqa: F401
from methods.matching import sbert  # noqa: F401
from methods.matching import cosine_mse  # noqa: F401
from methods.matching import interaction  # noqa: F401
