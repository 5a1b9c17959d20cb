"""The errors of recovery (both are :class:`~recanon_sdk.errors.RecanonError`: one sentence and a hint)."""

from __future__ import annotations

from recanon_sdk.errors import RecanonError

__all__ = ["RecoveryError", "VerificationError"]


class RecoveryError(RecanonError):
    """Recovery cannot proceed: wrong key or deployment, missing files, an empty selection, no audit log."""


class VerificationError(RecoveryError):
    """The output, its sidecar or its sealed originals do not verify against the deployment."""
