"""Enhancers: how a person crop becomes a privacy-enhanced rendering.

>>> make_enhancer("pixelate").name
'pixelate'
"""

from __future__ import annotations

from recanon_sdk.enhance.base import Enhancer
from recanon_sdk.enhance.classic import Blur, Mask, Pixelate

#: Names accepted by :func:`make_enhancer` and ``recanon anonymize --enhancer``.
CLASSIC_ENHANCERS = ("blur", "pixelate", "mask")


def make_enhancer(name: str, strength: float | None = None) -> Enhancer:
    """Build an enhancer by name; ``strength`` overrides its default (blur and pixelate)."""
    if name == "blur":
        return Blur() if strength is None else Blur(strength=strength)
    if name == "pixelate":
        return Pixelate() if strength is None else Pixelate(strength=strength)
    if name == "mask":
        return Mask()
    raise ValueError(f"unknown enhancer {name!r}; choose one of {', '.join(CLASSIC_ENHANCERS)}")


__all__ = ["CLASSIC_ENHANCERS", "Blur", "Enhancer", "Mask", "Pixelate", "make_enhancer"]
