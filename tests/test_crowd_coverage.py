"""Crowd mode on real pedestrians: a crowd of people 60-140 px tall, most of whom the whole-frame pass
is unsure of, is looked at again and covered; without crowd mode most of them stay raw.

Sixteen INRIA Person crops (``../shared``) are pasted onto a plain background, so the ground truth
is exact: each person's body box.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.enhance import Mask

from tests.conftest import SHARED, need_shared

CROPS = SHARED / "data" / "images" / "inria_person"


def crowd(seed: int = 0, people: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A 1280 × 720 frame with ``people`` pedestrians 60-140 px tall in two rows, and their body boxes
    (INRIA's person is 96 px tall, from row 32 to 128 of the 96 × 160 crop)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:720, 0:1280]
    background = np.stack([90 + 60 * y / 720, 110 + 40 * x / 1280, np.full(x.shape, 120.0)], axis=-1)
    image = (background + rng.normal(0, 6, background.shape)).astype(np.float32)
    feather = np.zeros((160, 96), np.float32)
    cv2.ellipse(feather, (48, 80), (28, 58), 0, 0, 360, 1.0, -1)
    feather = cv2.GaussianBlur(feather, (0, 0), 4)[:, :, None]
    crops = sorted(need_shared(CROPS).glob("*.png"))
    boxes = []
    for i in range(people):
        row, col = divmod(i, 8)
        scale = rng.uniform(60, 140) / 96
        w, h = round(96 * scale), round(160 * scale)
        x0 = int(60 + col * 145 + rng.uniform(-20, 20))
        y0 = int(220 + row * 200 + rng.uniform(-20, 20))
        crop = cv2.imread(str(crops[int(rng.integers(len(crops)))]))[:, :, ::-1]
        patch = cv2.resize(crop, (w, h)).astype(np.float32)
        alpha = cv2.resize(feather, (w, h))[:, :, None]
        image[y0 : y0 + h, x0 : x0 + w] = alpha * patch + (1 - alpha) * image[y0 : y0 + h, x0 : x0 + w]
        boxes.append([x0 + 28 * scale, y0 + 32 * scale, x0 + 68 * scale, y0 + 128 * scale])
    return np.clip(image, 0, 255).astype(np.uint8), np.array(boxes)


def people_covered(config: DetectorConfig, image: np.ndarray, boxes: np.ndarray) -> int:
    """How many of ``boxes`` lie ≥ 90 % inside the regions the anonymizer hides."""
    _, found = Anonymizer(AnonymizerConfig(detector=config), enhancer=Mask()).process_frame(image)
    hidden = np.zeros(image.shape[:2], bool)
    for x0, y0, x1, y1 in found.region:
        hidden[y0:y1, x0:x1] = True
    return sum(hidden[round(b[1]) : round(b[3]), round(b[0]) : round(b[2])].mean() >= 0.9 for b in boxes)


@pytest.mark.slow
def test_a_crowd_the_whole_frame_pass_is_unsure_of_is_covered_by_crowd_mode():
    image, boxes = crowd()
    with_crowd_mode = people_covered(DetectorConfig(), image, boxes)
    without = people_covered(DetectorConfig(crowd_people=0), image, boxes)
    assert with_crowd_mode >= 14, f"crowd mode covered {with_crowd_mode} of {len(boxes)}"
    assert without <= 10, f"without crowd mode {without} of {len(boxes)} were covered: the test has no crowd"
