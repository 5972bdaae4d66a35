"""Long-tail methods: losses and post-hoc adjustments behind the hooks of ``tasks.longtail``."""

# One import per module that registers methods (each must be torch-free at import time).
from methods.longtail import erm  # noqa: F401
from methods.longtail import focal  # noqa: F401
from methods.longtail import logit_adjust  # noqa: F401
from methods.longtail import reweight  # noqa: F401
from methods.longtail import class_balanced  # noqa: F401
from methods.longtail import ldam_drw  # noqa: F401
from methods.longtail import flooding  # noqa: F401
from methods.longtail import can  # noqa: F401
