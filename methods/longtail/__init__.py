"""Long-tail methods: losses and post-hoc adjustments behind the hooks of ``tasks.longtail``."""

from methods.longtail import erm, focal, logit_adjust  # noqa: F401  (registration)
