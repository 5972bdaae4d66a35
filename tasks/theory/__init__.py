"""The ``theory`` family: closed-form and small-experiment claims of eight kexue.fm articles.

Exact cells (one module per article at the top of this folder) recompute an article's constant,
identity or asymptotic order with NumPy/SciPy/torch on a CPU and report it as metrics; the claims
in ``claims.toml`` compare those metrics with the article's numbers at a stated tolerance. A task
calls the hook its methods implement (``methods/theory/base.py``): the method is the variant the
article compares (a solver, a backend, an activation, an optimizer's update, a loss form…).
Seeded small experiments live in ``experiments/``.
"""
