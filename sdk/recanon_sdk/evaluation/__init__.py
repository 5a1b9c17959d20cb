"""``recanon eval``: privacy, utility and recovery of every enhancer, side by side, after a real codec.

On person portraits cut from a dataset (COCO-style keypoint ground truth, or a folder of person
crops without labels), each method's output goes through libx264 (the crops as consecutive frames,
CRF 23 by default) and is compared with the raw portrait:

* **privacy** — PSNR/SSIM against the raw portrait; the rate at which the independent YuNet face
  detector still finds a face (among portraits where it finds one in the raw); identity linkage
  with dlib's 128-d embeddings (the ``eval`` extra; :func:`recanon_sdk.metrics.faces.portrait_linkage`):
  the processed face at the raw face's location against every raw face of the source, each
  portrait its own person — self vs impostor match rate at 0.6, rank-1 vs chance, AUC, each with a
  95 % interval over the portraits, and a verdict (at / above chance); never a match rate alone;
* **utility** — OKS AP and AP50 (pycocotools) of the pose estimator P (YOLO11n-pose) on the
  processed portraits, against the ground-truth keypoints, or, for unlabelled crops, against P's
  own prediction on the raw portrait (the teacher); over all 17 COCO keypoints, or with
  ``keypoints="body"`` over the 12 body keypoints alone (:func:`body_keypoints_only`);
* **recovery** — the same for GY with the right and with a wrong deployment secret, and, given an
  unkeyed inverse of GX trained without any secret (``research/probes/learned_attacker.py --save``), for
  that ``attacker``: the honest bound of docs/security.md, on the same portraits as GY.

Methods: ``raw`` (codec only: the ceiling), ``blur``, ``pixelate``, ``mask`` (the classic enhancers
at their defaults), ``gx`` (the packaged or a given GX, keyed with a random secret), and, when GY
weights are given, ``gy_right`` / ``gy_wrong``; with attacker weights, ``attacker``. Output:
``report.json``, ``report.md`` and ``privacy_utility.png`` (AP against face detection rate, one
point per method).

The package by job: :mod:`~recanon_sdk.evaluation.sources` (where the portraits come from),
:mod:`~recanon_sdk.evaluation.methods` (every row, through the codec),
:mod:`~recanon_sdk.evaluation.metrics` (OKS AP, PSNR/SSIM, intervals; faces and identity from
:mod:`recanon_sdk.metrics`), :mod:`~recanon_sdk.evaluation.report` (summary, report files) and
:mod:`~recanon_sdk.evaluation.run` (:class:`EvalConfig`, :func:`evaluate`). Portraits are cut and
read by :mod:`recanon_sdk.portraits`, as training's scene stage cuts them. The names below are the
public surface.

>>> config = EvalConfig(sources=["folder:crops/"], methods=["raw", "blur"])
>>> config.limit, config.crf, parse_source(config.sources[0])
(200, 23, ('folder', 'crops/', None))
"""

from __future__ import annotations

# The face and identity metrics live in recanon_sdk.metrics; re-exported for the benchmarks.
from recanon_sdk.evaluation.methods import METHODS, check_methods, resampled
from recanon_sdk.evaluation.metrics import (
    KEYPOINT_SETS,
    body_keypoints_only,
    oks,
    oks_ap,
    psnr_ssim,
    teacher_keypoints,
)
from recanon_sdk.evaluation.report import write_report
from recanon_sdk.evaluation.run import EvalConfig, evaluate
from recanon_sdk.evaluation.sources import KINDS, parse_source, shared_suite, source_records
from recanon_sdk.metrics.faces import (
    FaceEmbeddings,
    face_boxes,
    face_embeddings,
    faces_found,
    portrait_linkage,
    reidentified,
)
from recanon_sdk.metrics.linkage import identity_verification
from recanon_sdk.portraits import detected_heads, portrait_crops, portrait_heads, portrait_poses

__all__ = [
    "KEYPOINT_SETS",
    "KINDS",
    "METHODS",
    "EvalConfig",
    "FaceEmbeddings",
    "body_keypoints_only",
    "check_methods",
    "detected_heads",
    "evaluate",
    "face_boxes",
    "face_embeddings",
    "faces_found",
    "identity_verification",
    "oks",
    "oks_ap",
    "parse_source",
    "portrait_crops",
    "portrait_heads",
    "portrait_linkage",
    "portrait_poses",
    "psnr_ssim",
    "reidentified",
    "resampled",
    "shared_suite",
    "source_records",
    "teacher_keypoints",
    "write_report",
]
