"""NER: entity spans (start, end, type) from one encoder and interchangeable heads.

Protocol hooks a NER method provides (see ``methods/ner/base.py``): ``head(hidden, types)``
returning a torch module with ``loss``, ``decode``, ``params_per_type``; optional
``lr_multipliers``. The task owns data, encoder, schedule, truncation and scoring
(corpus-level exact-span micro P/R/F1, :mod:`tasks.ner.metrics`). The registry finds the
registering modules (``corpora``, ``custom``) by walking this folder; the torch modules
(``protocol``, ``encoder``, ``pretrained``) are imported only when a cell runs.
"""

