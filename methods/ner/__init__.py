"""NER methods: heads on a shared encoder behind the hooks of ``methods/ner/base.py``."""

# One import per module that registers methods (each must be torch-free at import time).
from methods.ner import softmax  # noqa: F401
from methods.ner import crf  # noqa: F401
from methods.ner import globalpointer  # noqa: F401
