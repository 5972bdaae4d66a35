"""NER methods: heads on a shared encoder behind the hooks of ``methods/ner/base.py``."""

