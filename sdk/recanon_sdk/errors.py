"""The exceptions recanon raises, one family per kind of problem.

Every message is one sentence that says what went wrong, where, and (in ``hint``) what to do next,
so that the CLI can print it as is and exit non-zero without a traceback.
"""

from __future__ import annotations


class RecanonError(Exception):
    """Base class of every error recanon raises on purpose."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(RecanonError):
    """The input (a video, image, folder, URL or sidecar) is missing, unreadable or not what was expected."""


class OutputError(RecanonError):
    """An output cannot be written: it exists (without ``overwrite``) or its folder is not writable."""


class ModelError(RecanonError):
    """Model weights are missing, do not match their pinned sha256, or cannot be loaded."""


class SidecarError(InputError):
    """A pose sidecar is malformed or of an unsupported schema version."""


class Interrupted(RecanonError):
    """The run was interrupted (Ctrl-C); partial outputs were removed."""
