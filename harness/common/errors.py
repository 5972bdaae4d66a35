"""One error type for anything the user got wrong.

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2; everything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: the message says what was wrong and what to do instead."""


class CellFailure(Exception):
    """A cell could not produce valid numbers (NaN loss, timeout, …); recorded, never cached."""
