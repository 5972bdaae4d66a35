"""Long-tail methods: losses and post-hoc adjustments behind the hooks of ``tasks.longtail``."""
