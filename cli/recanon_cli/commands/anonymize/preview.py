"""``--preview``: each anonymized frame in a window as it is made, with skeletons and track ids drawn.

The window is OpenCV's (highgui). Whether it can open is checked before any work: OpenCV must have
been built with a GUI (``opencv-python`` has one, ``opencv-python-headless`` has none) and, on
Linux and the BSDs, a display must be named (``$DISPLAY`` or ``$WAYLAND_DISPLAY``). q or Esc closes
the window; the run goes on.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from recanon_cli._console import fail

WINDOW = "recanon preview"
#: The longer side of the window's picture, at most (large videos are shown smaller).
MAX_SIDE = 1280


def gui_backend(build_information: str) -> str | None:
    """The GUI OpenCV was built with, from ``cv2.getBuildInformation()``; ``None`` when it has none.

    >>> gui_backend("  GUI:                           QT5\\n    QT:   YES (ver 5.15)")
    'QT5'
    >>> gui_backend("  GUI:                           NONE\\n") is None
    True
    """
    for line in build_information.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "GUI":
            value = value.strip()
            return None if not value or value.upper() == "NONE" else value
    return None


def needs_display(platform: str | None = None) -> bool:
    """Whether windows need a display named in the environment (X11 or Wayland systems).

    >>> needs_display("linux"), needs_display("darwin"), needs_display("win32")
    (True, False, False)
    """
    return not (platform or sys.platform).startswith(("win", "darwin", "cygwin"))


def check_preview() -> None:
    """End the command with one sentence where a preview window cannot open (before any work)."""
    import cv2

    if gui_backend(cv2.getBuildInformation()) is None:
        fail(
            "--preview needs OpenCV with GUI support, and this one has none (opencv-python-headless)",
            "pip install opencv-python in its place, or use --draw-pose to draw the same onto the output",
        )
    if needs_display() and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        fail(
            "--preview needs a display, and none is set ($DISPLAY and $WAYLAND_DISPLAY are empty)",
            "run it where a desktop is, or use --draw-pose to draw the skeletons onto the output",
        )


class PreviewWindow:
    """The ``on_frame`` callback of :meth:`~recanon_sdk.anonymizer.Anonymizer.process_video`: draws
    each frame's people onto a copy of the anonymized frame and shows it."""

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self.open = True
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)

    def __call__(self, image: Any, people: Any, status: str) -> None:
        if not self.open:
            return
        from recanon_sdk.draw import draw_people

        cv2 = self._cv2
        drawn = draw_people(image, people)
        h, w = drawn.shape[:2]
        scale = min(1.0, MAX_SIDE / max(h, w))
        if scale < 1.0:
            drawn = cv2.resize(drawn, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        cv2.imshow(WINDOW, drawn[:, :, ::-1])  # RGB → BGR
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27) or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            self._cv2.destroyWindow(WINDOW)
            self._cv2.waitKey(1)
