"""Sentence matching (kexue.fm 8847 CoSENT, 8860 interaction vs features): pairs of sentences,
bi-encoders scored by the cosine of cached sentence vectors against a cross-encoder, Spearman
and accuracy at a threshold chosen on valid.

Protocol hooks a matching method provides: see ``methods/matching/base.py``.
"""
