"""recanon: anonymize people in video while keeping their pose estimable; recover for key holders only.

>>> from recanon_sdk import Anonymizer        # doctest: +SKIP
>>> Anonymizer().process_video("in.mp4", "out.mp4")   # doctest: +SKIP
"""

from __future__ import annotations

from recanon_sdk._version import __version__
from recanon_sdk.types import KEYPOINT_NAMES, SKELETON, Frame, People

__all__ = [
    "KEYPOINT_NAMES",
    "SKELETON",
    "Anonymizer",
    "AnonymizerConfig",
    "Frame",
    "People",
    "Recoverer",
    "RunResult",
    "Sidecar",
    "__version__",
]


def __getattr__(name: str):  # lazy: importing recanon_sdk must not load torch
    if name in ("Anonymizer", "AnonymizerConfig", "RunResult"):
        from recanon_sdk import anonymizer

        return getattr(anonymizer, name)
    if name == "Recoverer":
        from recanon_sdk.recoverer import Recoverer

        return Recoverer
    if name == "Sidecar":
        from recanon_sdk.video.sidecar import Sidecar

        return Sidecar
    raise AttributeError(f"module 'recanon_sdk' has no attribute {name!r}")
