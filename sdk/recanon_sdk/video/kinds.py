"""What a source is from its name alone, without opening it or importing a video library.

>>> ".jpg" in IMAGE_SUFFIXES, ".mp4" in IMAGE_SUFFIXES
(True, False)
"""

from __future__ import annotations

__all__ = ["IMAGE_SUFFIXES"]

#: Suffixes (lower case) read as still images, a file or a folder of them, not as video.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
