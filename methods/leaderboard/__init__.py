"""Leaderboard aggregators: how per-task scores become one number per system.

Each is a pure function of a ``(systems, tasks)`` matrix (see ``aggregators.py``); the hooks
the protocol calls are described in ``tasks/leaderboard/protocol.py``.
"""
