"""The head-pinned blur of research/probes/baseline_frontier.py pins the head exactly as GX's rule does."""

from __future__ import annotations

import numpy as np

from tests.conftest import load_script


def _frontier():
    return load_script("research/probes/baseline_frontier.py")


def test_head_blur_pins_the_head_blocks_and_blurs_the_body_at_its_own_strength():
    frontier = _frontier()
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (256, 128, 3), dtype=np.uint8)  # noise: any blur changes it
    head = np.array([[40.0, 10, 80, 50]])  # a 40 px head box → σ 4 px on its 8×8 blocks
    body_raw, body_blurred, unknown = (
        frontier.head_blur([crop], [head], 0.0)[0],
        frontier.head_blur([crop], [head], 0.02)[0],
        frontier.head_blur([crop], [None], 0.0)[0],
    )
    in_head = np.zeros((256, 128), bool)
    in_head[8:56, 40:80] = True  # the blocks the box touches (rows 1–6, columns 5–9 of 8 px)
    assert (body_raw[~in_head] == crop[~in_head]).all()  # strength 0: the body untouched
    assert np.abs(body_raw[in_head].astype(int) - crop[in_head]).mean() > 20  # the head blurred
    assert (body_blurred[in_head] == body_raw[in_head]).all()  # the head's σ does not depend on the body's
    assert np.abs(body_blurred[~in_head].astype(int) - crop[~in_head]).mean() > 20
    assert (
        np.abs(unknown.astype(int) - crop).mean() > 20 and unknown.std() < crop.std() / 4
    )  # fail closed: all
