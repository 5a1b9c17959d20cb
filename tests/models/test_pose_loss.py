"""L_PE against the real YOLO11n-pose: pseudo-labels from the frozen teacher, gradients into the input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from recanon_sdk.datasets import folder_records, shared_data_dir
from recanon_sdk.models.pose_loss import PoseLossConfig, PoseTargets, YoloPoseLoss

torch.set_num_threads(1)
os.environ.setdefault("YOLO_OFFLINE", "1")

INRIA = shared_data_dir() / "images" / "inria_person"


def test_targets_from_pixels_normalise_boxes_and_keypoints() -> None:
    boxes = torch.tensor([[8.0, 16.0, 56.0, 112.0]])
    kp = torch.zeros(1, 17, 3)
    kp[0, 5] = torch.tensor([32.0, 64.0, 1.0])
    t = PoseTargets.from_pixels(boxes, kp, torch.tensor([True]), (128, 64))
    assert torch.allclose(t.boxes, torch.tensor([[0.5, 0.5, 0.75, 0.75]]))
    assert torch.allclose(t.keypoints[0, 5], torch.tensor([0.5, 0.5, 2.0]))
    assert t.keypoints[0, 0, 2] == 0 and bool(t.valid[0])


@pytest.fixture(scope="module")
def pose_loss() -> YoloPoseLoss:
    return YoloPoseLoss(PoseLossConfig(input_size=(256, 128)))


@pytest.mark.shared
def test_teacher_pseudo_labels_and_pose_loss_gradient(pose_loss: YoloPoseLoss) -> None:
    recs = folder_records(INRIA, limit=2)
    imgs = [r.load() for r in recs]
    x = torch.stack(
        [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float() / 255 for im in imgs]
    )
    x = torch.nn.functional.interpolate(x, size=(128, 64), mode="bilinear", align_corners=False)
    targets = pose_loss.pseudo_labels(x)
    assert bool(targets.valid.all())  # the pretrained model finds the pedestrian in each crop
    assert (targets.boxes[:, 3] > 0.5).all()  # a standing person fills most of the crop's height
    assert (targets.keypoints[..., 2] > 0).sum() >= 10
    y = x.clone().requires_grad_(True)
    loss_raw = pose_loss(y, targets)
    loss_raw.backward()
    loss_raw = loss_raw.detach()
    assert torch.isfinite(loss_raw) and y.grad is not None and y.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in pose_loss.student.parameters())  # P frozen by default
    with torch.no_grad():
        loss_noise = pose_loss(torch.rand_like(x), targets)
    assert float(loss_noise) > float(loss_raw)  # noise is worse for pose than the raw portrait


def test_no_valid_targets_gives_zero_loss(pose_loss: YoloPoseLoss) -> None:
    x = torch.rand(2, 3, 128, 64, requires_grad=True)
    empty = PoseTargets(torch.zeros(2, 4), torch.zeros(2, 17, 3), torch.zeros(2, dtype=torch.bool))
    loss = pose_loss(x, empty)
    loss.backward()  # still part of the graph, so a batch without targets does not break training
    assert float(loss.detach()) == 0.0


def test_a_fine_tuned_p_keeps_the_official_teacher() -> None:
    """P may start from the shipped yolo11n-pose-gx while P₀ (pseudo-labels, head boxes) stays the
    official YOLO11n-pose, as the deployed detector on raw frames is; unset, P₀ is a copy of P."""
    cfg = PoseLossConfig(weights="yolo11n-pose-gx", teacher_weights="yolo11n-pose", input_size=(256, 128))
    loss = YoloPoseLoss(cfg)
    official = YoloPoseLoss(PoseLossConfig(input_size=(256, 128)))
    copied = YoloPoseLoss(PoseLossConfig(weights="yolo11n-pose-gx", input_size=(256, 128)))
    x = torch.rand(2, 3, 128, 64, generator=torch.Generator().manual_seed(0))

    def equal(a: torch.nn.Module, b: torch.nn.Module) -> list[bool]:
        return [p.equal(q) for p, q in zip(a.parameters(), b.parameters(), strict=True)]

    assert all(equal(loss.teacher, official.teacher))  # P₀ is the official model ...
    assert not all(equal(loss.student, official.student))  # ... P the fine-tuned one
    assert all(equal(copied.teacher, copied.student))
    assert not any(p.requires_grad for p in loss.teacher.parameters())
    for a, b in zip(loss.teacher_people(x), official.teacher_people(x), strict=True):
        assert torch.equal(a, b)
