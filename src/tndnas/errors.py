"""The one base of every error tndnas reports to its user.

Every user-facing error (a bad config value, an unknown op, a malformed genotype, a missing
dataset, a corrupt checkpoint, ...) derives from :class:`TndnasError`. Its message is one
sentence that names the problem and the fix; the ``tndnas`` command prints it on one line and
exits with status 2. Each subclass also derives from the built-in error a Python caller would
expect (``ValueError``, ``KeyError``, ``RuntimeError``, ...), so ``except ValueError`` still
catches a bad value.
"""

from __future__ import annotations


class TndnasError(Exception):
    """A problem in the user's input or files, said in one sentence with its fix."""

    def __str__(self) -> str:  # KeyError subclasses would quote their message otherwise
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()
