"""One frame's anonymization once its people are known: plan the regions, enhance, paste back.

The anonymizer calls :func:`render` for every frame that did not fail closed. It asks the hiding
policy (:mod:`recanon_sdk.policy`) which region of whom to hide, cuts those regions, gives the
enhancer what it asks for (head boxes for a head-pinned GX, keypoints for the ``skeleton``
enhancer), checks what comes back and pastes it so that every pixel of each protected box is
replaced. Any exception here makes the anonymizer obscure the whole frame.

>>> import numpy as np
>>> from recanon_sdk.enhance import Mask
>>> from recanon_sdk.geometry import CropGeometry
>>> from recanon_sdk.policy import HidePolicy
>>> from recanon_sdk.types import People
>>> image = np.zeros((50, 50, 3), np.uint8)
>>> people = People(xyxy=[[10, 10, 20, 40]], score=[0.9])
>>> out = render(image, people, CropGeometry(margin=0.0), Mask(color=(9, 9, 9)), HidePolicy())
>>> out[25, 15].tolist(), out[5, 5].tolist(), people.region.tolist()
([9, 9, 9], [0, 0, 0], [[10, 4, 20, 40]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recanon_sdk.geometry import CropGeometry, head_boxes, heads_in_regions
from recanon_sdk.policy import HidePolicy
from recanon_sdk.types import People


def render(
    image: np.ndarray,
    people: People,
    geometry: CropGeometry,
    enhancer: Any,
    policy: HidePolicy,
    *,
    draw_pose: bool = False,
) -> np.ndarray:
    """The anonymized copy of ``image``; sets ``people.region`` to what was hidden (``(0, 0, 0, 0)``
    for whom the policy leaves visible). ``draw_pose``: draw everyone's skeleton and track id on
    the result (:func:`recanon_sdk.draw.draw_people`). Raises on any enhancer fault."""
    plan = policy.plan(people, image.shape[:2], geometry)
    people.region = plan.region
    hide = np.flatnonzero(people.hidden)
    out = image.copy()
    if len(hide):
        regions = plan.region[hide]
        size = enhancer.input_size
        crops = geometry.extract(image, regions, size)
        kwargs: dict[str, Any] = {}
        if getattr(enhancer, "wants_heads", False):  # a head-pinned GX: where the faces are
            heads = heads_in_regions(plan.region, head_boxes(people.keypoints, people.xyxy), size)
            # A head region is all head: pinned whole.
            kwargs["heads"] = [None if plan.head_only[i] else heads[i] for i in hide]
        if getattr(enhancer, "wants_keypoints", False):  # the skeleton enhancer: the pose per crop
            kwargs["keypoints"] = keypoints_in_regions(people.keypoints[hide], regions, size)
        enhanced = enhancer.enhance(crops, **kwargs)
        if len(enhanced) != len(crops) or any(
            e.shape != c.shape or e.dtype != np.uint8 for e, c in zip(enhanced, crops, strict=True)
        ):
            raise RuntimeError("enhancer returned crops of the wrong number, shape or type")
        geometry.paste_inplace(out, regions, enhanced, protect=plan.protect[hide])
    if draw_pose and len(people):
        from recanon_sdk.draw import draw_people

        out = draw_people(out, people)
    return out


def keypoints_in_regions(
    keypoints: np.ndarray, regions: np.ndarray, size: tuple[int, int] | None = None
) -> list[np.ndarray]:
    """Each person's ``(17, 3)`` keypoints in their region's own pixels (or in those of the region
    resized to ``size`` (h, w), as :meth:`CropGeometry.extract` cuts it); confidences unchanged.

    >>> points = np.zeros((1, 17, 3)); points[0, 0] = (30, 40, 0.9)
    >>> keypoints_in_regions(points, np.array([[20, 20, 40, 60]]))[0][0].tolist()
    [10.0, 20.0, 0.9]
    >>> keypoints_in_regions(points, np.array([[20, 20, 40, 60]]), size=(80, 40))[0][0].tolist()
    [20.0, 40.0, 0.9]
    """
    out = []
    for points, (x0, y0, x1, y1) in zip(
        np.asarray(keypoints, np.float64).reshape(-1, 17, 3), np.asarray(regions).reshape(-1, 4), strict=True
    ):
        local = points.copy()
        local[:, 0] -= x0
        local[:, 1] -= y0
        if size is not None:
            local[:, 0] *= size[1] / max(int(x1 - x0), 1)
            local[:, 1] *= size[0] / max(int(y1 - y0), 1)
        out.append(local)
    return out
