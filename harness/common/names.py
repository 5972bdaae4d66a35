"""The one rule for a name that becomes a folder or a file name: a task, a method, a family.

Letters, digits and ``_ - . +``, starting with a letter or digit, no ``..``, at most 200
characters: no ``/``, no leading ``.``, nothing a shell or a path would read as more than a name.
The registry checks declarations with it; the store checks every task name it turns into a path.
"""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,199}$"  # and no "..": see is_name
_NAME = re.compile(NAME_PATTERN)


def is_name(value: Any) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None and ".." not in value
