"""Allocator settings for the processes that read stores and run cells, each unless the user set it.

Measured on the README main job and on one IFLYTEK cell (2-core CPU, 2026-12-07):

* Arrow's system allocator (``ARROW_DEFAULT_MEMORY_POOL``): its default, mimalloc, keeps what every
  store read allocated, and a run reads stores before and after its cells (main job 723 → 661 MB).
  Read when pyarrow is first imported, so it only takes effect where ``main`` sets it.
* One glibc malloc arena (``M_ARENA_MAX``): memory a helper thread frees (Arrow's readers, a
  lease's heartbeat) otherwise stays in that thread's own arena, out of reach of the cells, which
  allocate on the main thread (8 MB sat free in a second arena; main job 606–617 → 596–601 MB).
* Fixed glibc thresholds: blocks from 8 MB up are mapped and unmapped whole (``M_MMAP_THRESHOLD``),
  and up to 32 MB free at the top of the heap are kept (``M_TRIM_THRESHOLD``). glibc's own
  thresholds move with what the process happened to free before, and keep free at the top only
  twice the current mmap threshold, a few MB in a fresh process. A text cell's steps allocate and
  free about 20 MB of gradient blocks each, which then went back to the system after every step
  and came back as page faults: an IFLYTEK cell in a fresh process had 1.5–2.5 M faults and
  12.0–14.2 s of training, against 0.11 M and 10.3–10.8 s with these values, at the same peak
  (508–512 vs 515 MB).

The ``MALLOC_*`` variables are read only when a process starts, so a user's setting is honoured by
leaving that one alone. Pool, Ray and Slurm workers apply the same settings at their first job.
"""

from __future__ import annotations

import os
import sys
from functools import cache

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's malloc.h
_GLIBC = (
    ("MALLOC_ARENA_MAX", _M_ARENA_MAX, 1),
    ("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, 8 << 20),
    ("MALLOC_TRIM_THRESHOLD_", _M_TRIM_THRESHOLD, 32 << 20),
)


@cache
def tune_allocators() -> None:
    """Apply the settings above once per process (later calls do nothing)."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to set
        return
    for variable, option, value in _GLIBC:
        if variable not in os.environ:
            mallopt(option, value)
