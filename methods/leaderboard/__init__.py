"""Leaderboard aggregators: how per-task scores become one number per system.

Each is a pure function of a ``(systems, tasks)`` matrix (see ``aggregators.py``); the hooks
the protocol calls are described in ``tasks/leaderboard/protocol.py``.
"""

# One import per module that registers methods (each must be torch-free at import time).
from methods.leaderboard import aggregators  # noqa: F401
