"""Sentence-matching methods: the training objectives compared by kexue.fm 8847 and 8860.

Bi-encoders (``cosent``, ``sbert``, ``cosine_mse``) score a pair by the cosine of two sentence
vectors; the cross-encoder (``interaction``) scores the concatenated pair. The hooks the
protocol of ``tasks.matching`` calls are declared in :mod:`methods.matching.base`.
"""
