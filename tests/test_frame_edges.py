"""Every pixel of every person box is replaced, also where the person touches a frame border.

A region clipped by the frame border has no margin on that side; a feathered paste-back there would
blend raw pixels of the person into the output. These tests compare the output inside the person box
with the enhancer's own rendering pasted without any feather: they must be identical, for every
enhancer, at each of the four borders.
"""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Blur, Mask, Pixelate, make_enhancer
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.types import People

H, W = 240, 320
#: Person boxes (x0, y0, x1, y1) touching the left, top, right and bottom border.
EDGE_BOXES = {
    "left": (0.0, 60.0, 70.0, 200.0),
    "top": (120.0, 0.0, 190.0, 150.0),
    "right": (250.0, 50.0, 320.0, 190.0),
    "bottom": (110.0, 90.0, 180.0, 240.0),
}


class OneBox:
    def __init__(self, box):
        self.box = np.array([box], np.float32)

    def detect(self, images):
        return [People(xyxy=self.box, score=np.array([0.9])) for _ in images]


class Recording:
    """Wraps an enhancer and keeps what it returned (the rendering that must fill the box)."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.input_size = inner.input_size
        self.wants_heads = getattr(inner, "wants_heads", False)
        self.returned: list[np.ndarray] = []

    def enhance(self, crops, **kwargs):
        out = self.inner.enhance(crops, **kwargs)
        self.returned = [o.copy() for o in out]
        return out


def _enhancers():
    return {
        "blur": Blur(),
        "pixelate": Pixelate(),
        "mask": Mask(),
        "gx": make_enhancer("gx", model_secret=bytes(range(32))),
    }


@pytest.fixture(scope="module")
def enhancers():
    return _enhancers()


@pytest.mark.parametrize("edge", list(EDGE_BOXES))
@pytest.mark.parametrize("name", ["blur", "pixelate", "mask", "gx"])
def test_person_box_at_a_frame_border_is_fully_replaced(edge, name, enhancers):
    image = np.random.default_rng(3).integers(0, 255, (H, W, 3), dtype=np.uint8)
    enhancer = Recording(enhancers[name])
    geometry = CropGeometry()  # the defaults: margin 0.2, feather 0.06
    anonymizer = Anonymizer(
        AnonymizerConfig(geometry=geometry), detector=OneBox(EDGE_BOXES[edge]), enhancer=enhancer
    )
    out, people = anonymizer.process_frame(image)
    region = people.region
    unfeathered = CropGeometry(margin=geometry.margin, feather=0.0).paste(image, region, enhancer.returned)
    x0, y0, x1, y1 = (int(v) for v in EDGE_BOXES[edge])
    inside_out, inside_expected = out[y0:y1, x0:x1], unfeathered[y0:y1, x0:x1]
    mixed = np.any(inside_out != inside_expected, axis=2)
    assert not mixed.any(), (
        f"{name} at the {edge} border: {int(mixed.sum())} box pixels mix raw pixels in "
        f"(e.g. at row/col {np.argwhere(mixed)[0].tolist()} of the box)"
    )
    if name == "mask":
        assert (inside_out == 128).all()


def test_the_feather_still_blends_where_the_margin_has_room():
    geometry = CropGeometry(margin=0.2, feather=0.15)
    image = np.zeros((200, 200, 3), np.uint8)
    regions = geometry.regions(np.array([[50, 40, 150, 160]], np.float32), image.shape[:2])
    out = geometry.paste(image, regions, [np.full((regions[0, 3] - regions[0, 1], 140, 3), 200, np.uint8)])
    x0, y0, x1, _ = regions[0]
    assert 0 < out[y0, (x0 + x1) // 2, 0] < 200  # a soft edge in the margin, not a hard cut


def test_protected_boxes_are_replaced_whatever_the_feather():
    """With a margin too small for the feather, the person box itself still gets no ramp."""
    geometry = CropGeometry(margin=0.02, feather=0.0)
    object.__setattr__(geometry, "feather", 0.2)  # a ramp wider than the margin
    image = np.zeros((120, 120, 3), np.uint8)
    box = np.array([[30.0, 20.0, 90.0, 100.0]])
    regions = geometry.regions(box, image.shape[:2])
    h, w = regions[0, 3] - regions[0, 1], regions[0, 2] - regions[0, 0]
    patch = [np.full((h, w, 3), 255, np.uint8)]
    assert geometry.paste(image, regions, patch)[20:100, 30:90].min() < 255  # the ramp reaches the box
    assert geometry.paste(image, regions, patch, protect=box)[20:100, 30:90].min() == 255
