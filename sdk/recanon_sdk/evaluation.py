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

>>> parse_source("coco:data/ann.json")
('coco', 'data/ann.json', None)
>>> parse_source("folder:crops/")
('folder', 'crops/', None)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# The face and identity metrics live in recanon_sdk.metrics; re-exported for the benchmarks.
from recanon_sdk.metrics.faces import (
    FaceEmbeddings,
    face_boxes,
    face_embeddings,
    faces_found,
    portrait_linkage,
    reidentified,
)
from recanon_sdk.metrics.linkage import Linkage, identity_verification

__all__ = [
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
    "oks_ap",
    "parse_source",
    "portrait_crops",
    "portrait_heads",
    "portrait_poses",
    "psnr_ssim",
    "reidentified",
    "shared_suite",
    "source_records",
    "teacher_keypoints",
    "write_report",
]

KINDS = ("coco", "folder", "mpii")
#: The rows ``recanon eval`` can measure (GY's rows come with ``gx`` when GY weights are given).
METHODS = ("raw", "resampled", "blur", "pixelate", "mask", "gx")
#: The keypoints OKS can be scored on (``EvalConfig.keypoints``).
KEYPOINT_SETS = ("all", "body")


def body_keypoints_only(truth: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """The reference keypoints with the five face keypoints (nose, eyes, ears) marked absent, so
    that OKS is scored over the 12 body keypoints; a person left with none becomes ``None``.

    >>> kp = np.tile([[10.0, 20.0, 2.0]], (17, 1))
    >>> out = body_keypoints_only([kp, None])
    >>> out[0][:5, 2].tolist(), int((out[0][:, 2] > 0).sum()), out[1]
    ([0.0, 0.0, 0.0, 0.0, 0.0], 12, None)
    """
    out: list[np.ndarray | None] = []
    for kp in truth:
        if kp is None:
            out.append(None)
            continue
        body = np.array(kp, dtype=np.float64, copy=True)
        body[:5, 2] = 0
        out.append(body if (body[:, 2] > 0).any() else None)
    return out


def check_methods(names: Sequence[str]) -> None:
    """Raise :class:`ValueError` naming the first of ``names`` that is not in :data:`METHODS`.

    >>> check_methods(["raw", "gx"])
    >>> check_methods(["sharpen"])
    Traceback (most recent call last):
    ValueError: unknown method 'sharpen': choose from raw, resampled, blur, pixelate, mask, gx
    """
    for name in names:
        if name not in METHODS:
            raise ValueError(f"unknown method '{name}': choose from {', '.join(METHODS)}")


def parse_source(text: str) -> tuple[str, str, str | None]:
    """``KIND:PATH[:IMAGES]`` → (kind, path, images folder or None)."""
    kind, _, rest = text.partition(":")
    if kind not in KINDS or not rest:
        raise ValueError(f"data source '{text}' must be KIND:PATH with KIND one of {', '.join(KINDS)}")
    path, _, images = rest.partition(":")
    return kind, path, images or None


@dataclass
class EvalConfig:
    """What to evaluate; ``sources`` are ``coco:ANN.json[:IMAGES]``, ``mpii:…`` or ``folder:DIR``."""

    sources: list[str]
    size: tuple[int, int] = (256, 128)
    limit: int = 200
    crf: int = 23
    gx_weights: str | None = "gx-unet-s-keyed"
    gy_weights: str | None = None
    yunet: str | None = None
    reid: bool = True
    seed: int = 0
    #: For folder sources that training used with ``data.holdout`` = this fraction: evaluate only the
    #: held-out portraits (the same split as ``recanon train``: ``training.data.split_indices``).
    heldout: float | None = None
    #: ``resampled`` is the raw portrait taken to GX's input size and back (the pipeline's own
    #: resampling, no network): the ceiling any generator at that size can reach, in PSNR and in pose.
    methods: list[str] = field(default_factory=lambda: ["raw", "resampled", "blur", "pixelate", "mask", "gx"])
    #: The pose model P run on every anonymized/recovered portrait (e.g. one fine-tuned by
    #: ``recanon train``, its ``pose.pt``); ``None`` = the packaged YOLO11n-pose. The raw row and the
    #: teacher reference always use the packaged model: the baseline without anonymization.
    pose_weights: str | None = None
    #: ``all``: OKS over the 17 COCO keypoints; ``body``: over the 12 body keypoints only (the face's
    #: nose, eyes and ears unscored: what fall detection or workplace safety reads; a head blurred
    #: past a face detector hides the face keypoints, not the body's).
    keypoints: str = "all"
    #: Bootstrap resamples for 95 % intervals of OKS AP (0 = none): the portraits of each source
    #: drawn with replacement, the same draws for every method (so rows compare pairwise), and the
    #: all-sources figure from the same draws. About 0.1 s per resample per method per 120 portraits.
    intervals: int = 0
    #: An unkeyed network trained to undo GX without the secret (``research/probes/learned_attacker.py
    #: --save``): the ``attacker`` row applies it to GX's output after the codec, next to GY's rows.
    attacker_weights: str | None = None
    #: Where GY came from when it was opened from a sealed bundle (``evaluate(sealed_gy=…)``, ``recanon
    #: eval --bundle``): recorded in the report only; GX is then keyed with the bundle's secret.
    gy_bundle: str | None = None


def shared_suite(shared: str | Path | None = None) -> list[str]:
    """The portrait suite of docs/results.md ("The portrait suite") as ``recanon eval`` sources:
    the labelled sets of ``<shared>/pose_gt`` whose raw portraits the stock P reads at all (COCO,
    OCHuman, PoseTrack18, AI Challenger, CrowdPose, MHP, MPII: 53 people; ExLPose's dark frames give
    it nothing) and the INRIA crop folder (use its held-out 10 %). ``shared``: the data folder,
    default :func:`recanon_sdk.training.data.shared_data_dir`.

    >>> [source.split(":")[0] for source in shared_suite("/data")][-2:]
    ['mpii', 'folder']
    """
    from recanon_sdk.training.data import shared_data_dir

    root = Path(shared) if shared is not None else shared_data_dir()
    gt = root / "pose_gt"
    return [
        f"coco:{gt}/coco/test_coco.json",
        f"coco:{gt}/ochuman/test_ochuman.json",
        f"coco:{gt}/posetrack18/annotations/test_posetrack18_val.json:{gt}/posetrack18",
        f"coco:{gt}/aic/test_aic.json",
        f"coco:{gt}/crowdpose/test_crowdpose.json",
        f"coco:{gt}/mhp/test_mhp.json",
        f"mpii:{gt}/mpii/test_mpii.json",
        f"folder:{root}/images/inria_person",
    ]


def source_records(source: str, limit: int, heldout: float | None = None) -> tuple[list[Any], bool]:
    """The people of a ``KIND:PATH[:IMAGES]`` source (at most ``limit``, evenly spaced; 0 = all) and
    whether they are labelled; a folder with ``heldout`` gives only its held-out split."""
    from recanon_sdk.training.data import coco_records, folder_records, mpii_records, split_indices

    kind, path, images = parse_source(source)
    if not Path(path).exists():
        raise FileNotFoundError(f"data source '{source}': '{path}' does not exist")
    if kind == "folder":
        if heldout:
            everything = folder_records(path)
            _, hold = split_indices(len(everything), heldout)
            chosen = [everything[i] for i in hold]
            return chosen[:limit] if limit else chosen, False
        return folder_records(path, limit=limit), False
    records = coco_records(path, images) if kind == "coco" else mpii_records(path, images)
    if limit and len(records) > limit:
        step = len(records) / limit
        records = [records[int(i * step)] for i in range(limit)]
    return records, True


def portrait_crops(
    records: Sequence[Any], size: tuple[int, int]
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Crops at ``size`` (margin 0.15) and the ground-truth keypoints moved into crop pixels (``None``
    if unlabelled): the portraits ``recanon eval`` measures (and the scene stage trains on)."""
    from recanon_sdk.training.data import crop_person

    crops, keypoints = [], []
    for record in records:
        crop, m = crop_person(
            record.load(), record.box, size, margin=0.15, fit=getattr(record, "fit", "expand")
        )
        crops.append(np.ascontiguousarray(crop))
        if record.keypoints is None:
            keypoints.append(None)
            continue
        kp = np.asarray(record.keypoints, np.float64).copy()
        xy = kp[:, :2] @ m[:, :2].T + m[:, 2]
        kp[:, :2] = np.where(kp[:, 2:3] > 0, xy, 0)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < size[1]) & (xy[:, 1] >= 0) & (xy[:, 1] < size[0])
        kp[~inside, 2] = 0
        keypoints.append(kp)
    return crops, keypoints


def resampled(crops: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """The crops taken to a generator's input ``size`` (h, w) and back, exactly as the pipeline
    resamples them around GX and GY (:mod:`recanon_sdk.crops`), with no network between:
    what any generator at that size can at best give back.

    >>> out = resampled([np.full((256, 128, 3), 200, np.uint8)], (128, 64))
    >>> out[0].shape, int(out[0].min()), int(out[0].max())
    ((256, 128, 3), 200, 200)
    """
    from recanon_sdk.crops import batch_to_crops, crops_to_batch

    return batch_to_crops(crops_to_batch(crops, size), [c.shape for c in crops])


def _classic(name: str) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    from recanon_sdk.enhance import make_enhancer

    enhancer = make_enhancer(name)
    return enhancer.enhance


def portrait_poses(
    crops: Sequence[np.ndarray], size: tuple[int, int], weights: str | None = None
) -> list[Any]:
    """P's people on each portrait (320 px, confidence 0.05, one cached detector per model);
    ``weights`` another pose model (``None``: the packaged default)."""
    from recanon_sdk.detect.pose import DEFAULT_POSE_MODEL, DetectorConfig, PoseDetector

    name = weights or DEFAULT_POSE_MODEL
    if name not in _POSE:  # one model per weights file for every method and source
        _POSE[name] = PoseDetector(DetectorConfig(weights=name, imgsz=320, conf=0.05, zoom_out=0))
    out = []
    for start in range(0, len(crops), 16):
        out.extend(_POSE[name].detect(list(crops[start : start + 16])))
    return out


_POSE: dict[str, Any] = {}


def oks_ap(
    truth: list[np.ndarray | None],
    predictions: list[Any],
    size: tuple[int, int],
    order: Sequence[int] | None = None,
) -> tuple[float, float]:
    """COCO keypoint AP and AP50 (pycocotools) of ``predictions`` against one person per portrait;
    ``order``: the portraits to use, by index, repeats allowed (a bootstrap draw)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(truth) != len(predictions):
        raise ValueError("one prediction list per portrait")
    h, w = size
    images, annotations, results = [], [], []
    picked = range(len(truth)) if order is None else order
    for i, k in enumerate(picked):
        kp, people = truth[k], predictions[k]
        images.append({"id": i, "width": w, "height": h})
        if kp is None or not (kp[:, 2] > 0).any():
            continue
        visible = kp[kp[:, 2] > 0, :2]
        x0, y0 = visible.min(0)
        x1, y1 = visible.max(0)
        area = float(max(x1 - x0, 1) * max(y1 - y0, 1)) * 1.2  # keypoint extent: no segmentation here
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "area": area,
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "keypoints": [float(v) for v in kp.reshape(-1)],
                "num_keypoints": int((kp[:, 2] > 0).sum()),
            }
        )
        for j in range(len(people)):
            results.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": [float(v) for v in people.keypoints[j].reshape(-1)],
                    "score": float(people.score[j]),
                }
            )
    if not annotations:
        return float("nan"), float("nan")
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if not results:
            return 0.0, 0.0
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def bootstrap_draws(n: int, resamples: int, seed: int = 0) -> np.ndarray:
    """``(resamples, n)`` portrait indices drawn with replacement: the same draws for every method of
    a source, so that their intervals (and differences) are paired.

    >>> bootstrap_draws(3, 2).shape
    (2, 3)
    """
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of bootstrap ``values`` (NaN draws ignored)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [float("nan"), float("nan")]
    tail = (1 - level) / 2
    return [float(np.quantile(finite, tail)), float(np.quantile(finite, 1 - tail))]


def _summary(report: dict[str, Any], draws: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Every method's OKS AP over all sources, each source weighted by its portraits (and, with
    bootstrap ``draws`` per method and source, its interval from the same draws)."""
    sources = {k: v for k, v in report["sources"].items() if v.get("portraits")}
    methods: dict[str, Any] = {}
    weighted_draws: dict[str, np.ndarray] = {}  # method → its all-sources AP per draw (NaN: skipped)
    names = [m for v in sources.values() for m in v["methods"]]
    for name in dict.fromkeys(names):
        used = {
            k: v for k, v in sources.items() if np.isfinite(v["methods"].get(name, {}).get("oks_ap", np.nan))
        }
        if not used:
            continue
        weights = np.array([v["portraits"] for v in used.values()], float)
        aps = np.array([v["methods"][name]["oks_ap"] for v in used.values()])
        row: dict[str, Any] = {"oks_ap": float(weights @ aps / weights.sum()), "sources": len(used)}
        if name in draws and all(k in draws[name] for k in used):
            per_draw = np.stack([draws[name][k] for k in used])  # (sources, resamples)
            whole = np.isfinite(per_draw).all(axis=0)  # a draw without any labelled person: skipped
            weighted_draws[name] = np.where(whole, weights @ np.nan_to_num(per_draw) / weights.sum(), np.nan)
            row["oks_ap_interval"] = _interval(weighted_draws[name])
        methods[name] = row
    raw = weighted_draws.get("raw")
    for name, row in methods.items():  # the share of raw AP, paired: both from the same draws
        if raw is not None and name in weighted_draws and row["sources"] == methods["raw"]["sources"]:
            with np.errstate(divide="ignore", invalid="ignore"):
                row["ap_vs_raw_interval"] = _interval(weighted_draws[name] / raw)
    return {"weighted_by": "portraits", "portraits": int(sum(v["portraits"] for v in sources.values())),
            "methods": methods}  # fmt: skip


def detected_heads(crops: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray | None]:
    """The head boxes a head-pinned GX gets for each raw portrait, as the pipeline and ``recanon
    eval`` give them: :func:`portrait_heads` of the packaged pose model's people on it (portraits
    resized to ``size``, (H, W)). ``None`` where the head is unknown (pin the whole portrait).

    >>> detected_heads([np.zeros((128, 64, 3), np.uint8)], (128, 64))  # nobody there
    [None]
    """
    return [portrait_heads(people) for people in portrait_poses(crops, size)]


def portrait_heads(people: Any, min_score: float = 0.25) -> np.ndarray | None:
    """The head boxes a head-pinned GX gets for one portrait, from P's people on the raw portrait
    (score ≥ ``min_score``, the detector's default): every known head, or ``None`` (pin the whole
    portrait) when no person is found or the most confident one's head is unknown
    (:func:`recanon_sdk.geometry.head_boxes`: no face keypoint, or no body seen below it).

    >>> from recanon_sdk.types import People
    >>> kpts = np.zeros((1, 17, 3), np.float32); kpts[0, 0] = (32, 20, 0.9); kpts[0, 11] = (32, 80, 0.8)
    >>> portrait_heads(People(np.array([[10, 5, 54, 120]], np.float32), np.array([0.8]), kpts)).shape
    (1, 4)
    >>> portrait_heads(People.empty()) is None
    True
    """
    from recanon_sdk.geometry import head_boxes

    keep = np.asarray(people.score) >= min_score
    if not keep.any():
        return None
    heads = head_boxes(people.keypoints[keep], people.xyxy[keep])
    if np.isnan(heads[int(np.argmax(np.asarray(people.score)[keep]))]).any():
        return None
    return heads[~np.isnan(heads).any(axis=1)]


def teacher_keypoints(raw_predictions: list[Any]) -> list[np.ndarray | None]:
    """P's own best prediction on each raw portrait as ground truth (keypoints with conf ≥ 0.5)."""
    truth = []
    for people in raw_predictions:
        if not len(people):
            truth.append(None)
            continue
        best = int(np.argmax(people.score))
        kp = people.keypoints[best].astype(np.float64).copy()
        kp[:, 2] = np.where(kp[:, 2] >= 0.5, 2, 0)
        truth.append(kp if (kp[:, 2] > 0).sum() >= 4 else None)
    return truth


def psnr_ssim(raw: Sequence[np.ndarray], crops: Sequence[np.ndarray]) -> tuple[float, float]:
    """PSNR (dB, of the mean squared error over every pixel of every crop) and mean SSIM of equally
    sized uint8 ``crops`` against ``raw``."""
    import torch

    from recanon_sdk.models.losses import ssim

    a = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    b = torch.from_numpy(np.stack(raw)).permute(0, 3, 1, 2).float() / 255
    mse = float(((a - b) ** 2).mean())
    return 10 * float(np.log10(1 / max(mse, 1e-12))), float(ssim(a, b))


def _keyless(weights: str) -> Any:
    """The attacker's network, refusing keyed weights (a GY with a secret is not an attacker)."""
    from recanon_sdk.models.recover import GYRecoverer

    try:
        return GYRecoverer(weights, None)
    except ValueError as error:  # a keyed model asks for a secret
        raise ValueError(
            f"attacker weights '{weights}' are keyed; pass an unkeyed network "
            "(research/probes/learned_attacker.py --save)"
        ) from error


def evaluate(
    config: EvalConfig,
    log: Callable[[str], None] = print,
    *,
    sealed_gy: tuple[Any, bytes | None] | None = None,
) -> dict[str, Any]:
    """Run every method on every source; return the numbers (also what :func:`write_report` writes).

    ``sealed_gy``: a deployment's GY and secret as
    :func:`~recanon_sdk.runtime.sealed_gy.open_sealed_gy_with_secret` returns them, instead of plain
    ``config.gy_weights``: GX is keyed with that secret, so the GY rows measure the deployment's own
    recovery (``gy_wrong`` under a random secret), without GY's weights ever on disk.
    """
    from recanon_sdk.training.evaluate import x264_roundtrip

    rng = np.random.default_rng(config.seed)
    secret, wrong = (
        bytes(rng.integers(0, 256, 32, dtype=np.uint8)),
        bytes(rng.integers(0, 256, 32, dtype=np.uint8)),
    )
    gy_pair: tuple[Any, Any] | None = None  # GY with the right secret, the same GY with the wrong one
    if sealed_gy is not None:
        if config.gy_weights:
            raise ValueError("give GY weights or a sealed GY, not both")
        gy, secret_in_bundle = sealed_gy
        if secret_in_bundle is None:
            raise ValueError("the sealed GY carries no deployment secret: it cannot be keyed like GX")
        secret = secret_in_bundle
        gy_pair = (gy, gy.with_secret(wrong))
    elif config.gy_weights:
        from recanon_sdk.models.recover import GYRecoverer

        gy = GYRecoverer(config.gy_weights, secret)
        gy_pair = (gy, gy.with_secret(wrong))
    attacker = _keyless(config.attacker_weights) if config.attacker_weights else None
    yunet = config.yunet or str(
        Path(os.environ.get("RECANON_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
        / "models"
        / "face_detection_yunet_2026may.onnx"
    )
    check_methods(config.methods)
    if config.keypoints not in KEYPOINT_SETS:
        raise ValueError(f"keypoints must be one of {', '.join(KEYPOINT_SETS)}, not '{config.keypoints}'")
    gx = None  # built once: GX for its row, and its input size for the resampled row
    if config.gx_weights and {"gx", "resampled"} & set(config.methods):
        from recanon_sdk.enhance import make_enhancer

        gx = make_enhancer("gx", model_secret=secret, gx_weights=config.gx_weights)
    from recanon_sdk.models.weights import DEFAULT_INPUT_SIZE

    generator_size = (gx.input_size if gx is not None else None) or DEFAULT_INPUT_SIZE
    report: dict[str, Any] = {"config": asdict(config), "sources": {}}
    draws: dict[str, dict[str, np.ndarray]] = {}  # method → source → AP per bootstrap draw
    for source in config.sources:
        records, labelled = source_records(source, config.limit, config.heldout)
        if not records:
            log(f"{source}: no usable person (COCO-17 keypoints, box ≥ 4 px); skipped")
            report["sources"][source] = {"portraits": 0, "skipped": "no usable person"}
            continue
        raw, truth = portrait_crops(records, config.size)
        log(f"{source}: {len(raw)} portraits at {config.size[0]}×{config.size[1]}")
        outputs: dict[str, list[np.ndarray]] = {}
        raw_predictions = portrait_poses(raw, config.size)
        orders = bootstrap_draws(len(raw), config.intervals, config.seed)  # every method's draws
        head_pin: dict[str, float] | None = None
        for name in config.methods:
            if name == "raw":
                produced = list(raw)
            elif name == "resampled":
                produced = resampled(raw, generator_size)
            elif name == "gx":
                if gx is None:
                    continue
                if getattr(gx, "wants_heads", False):  # where the faces are, as the detector sees them
                    from recanon_sdk.crops import head_pin_masks

                    heads = [portrait_heads(people) for people in raw_predictions]
                    produced = gx.enhance(list(raw), heads=heads)  # type: ignore[call-arg]
                    masks = head_pin_masks(heads, [r.shape for r in raw], config.size)
                    head_pin = {
                        "heads_unknown": float(np.mean([h is None for h in heads])),
                        "pinned_share": float(masks.mean()),
                    }
                else:
                    produced = gx.enhance(list(raw))
            else:
                produced = _classic(name)(list(raw))
            outputs[name] = x264_roundtrip(produced, crf=config.crf)
        if gy_pair is not None and "gx" in outputs:
            outputs["gy_right"] = gy_pair[0].recover(outputs["gx"])
            outputs["gy_wrong"] = gy_pair[1].recover(outputs["gx"])
        if attacker is not None and "gx" in outputs:
            outputs["attacker"] = attacker.recover(outputs["gx"])
        reference = truth if labelled else teacher_keypoints(raw_predictions)
        if config.keypoints == "body":
            reference = body_keypoints_only(reference)
        raw_faces = faces_found(raw, yunet) if Path(yunet).is_file() else None
        rows = {}
        for name, crops in outputs.items():
            psnr, ssim = psnr_ssim(raw, crops)
            judge = None if name in ("raw", "resampled") else config.pose_weights
            predictions = portrait_poses(crops, config.size, judge)
            ap, ap50 = oks_ap(reference, predictions, config.size)
            row: dict[str, Any] = {"psnr": psnr, "ssim": ssim, "oks_ap": ap, "oks_ap50": ap50}
            if config.intervals:
                per_draw = np.array([oks_ap(reference, predictions, config.size, o)[0] for o in orders])
                draws.setdefault(name, {})[source] = per_draw
                row["oks_ap_interval"] = _interval(per_draw)
            if raw_faces is not None and any(raw_faces):
                found = faces_found(crops, yunet)
                row["face_detection_rate"] = float(
                    np.mean([f for f, r in zip(found, raw_faces, strict=True) if r])
                )
            faces = face_embeddings(raw, crops) if config.reid else None
            if faces:
                row.update(portrait_linkage(faces, seed=config.seed))
            rows[name] = row
            log(f"  {name:9s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)))
            if "linkage" in row:
                log(f"  {'':9s} identity: {Linkage(**row['linkage']).summary()}")
        report["sources"][source] = {
            "portraits": len(raw),
            "ground_truth": ("keypoint labels" if labelled else "P on the raw portrait (teacher)")
            + (", the 12 body keypoints only" if config.keypoints == "body" else ""),
            "raw_faces_yunet": None if raw_faces is None else int(sum(raw_faces)),
            "methods": rows,
        }
        if head_pin is not None:  # a head-pinned GX: how much of the portraits it pinned
            report["sources"][source]["gx_head_pin"] = head_pin
    report["summary"] = _summary(report, draws)
    for name, row in report["summary"]["methods"].items():
        interval = f" {_fmt_interval(row['oks_ap_interval'])}" if "oks_ap_interval" in row else ""
        share = row.get("ap_vs_raw_interval")
        share_text = "" if share is None else f", of raw {_fmt_interval(share, percent=True)}"
        log(f"all sources, weighted: {name:9s} OKS AP {row['oks_ap']:.3f}{interval}{share_text}")
    return report


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """``report.json``, ``report.md`` and ``privacy_utility.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    lines = ["# recanon eval", "", f"Codec: libx264 CRF {report['config']['crf']}; portraits "
             f"{report['config']['size'][0]}×{report['config']['size'][1]}.", ""]  # fmt: skip
    columns = [
        ("psnr", "PSNR dB"),
        ("ssim", "SSIM"),
        ("face_detection_rate", "faces found"),
        ("self [95 %]", "dlib self [95 %]"),
        ("impostor [95 %]", "impostor [95 %]"),
        ("rank-1 (chance, p)", "rank-1 (chance, p)"),
        ("AUC [95 %]", "AUC [95 %]"),
        ("verdict", "identity"),
        ("oks_ap", "OKS AP"),
        ("oks_ap50", "AP50"),
    ]
    for source, result in report["sources"].items():
        if not result.get("portraits"):
            lines += [f"## {source}", "", f"Skipped: {result.get('skipped')}.", ""]
            continue
        lines += [
            f"## {source}",
            "",
            f"{result['portraits']} portraits; pose ground truth: {result['ground_truth']}; "
            f"YuNet finds a face in {result['raw_faces_yunet']} raw portraits.",
            "",
        ]
        if "gx_head_pin" in result:
            pin = result["gx_head_pin"]
            lines += [
                f"GX is head-pinned: {100 * pin['pinned_share']:.1f} % of the portraits pinned; "
                f"{100 * pin['heads_unknown']:.1f} % pinned whole (no head placed).",
                "",
            ]
        lines.append("| method | " + " | ".join(c[1] for c in columns) + " | AP vs raw |")
        lines.append("|---" * (len(columns) + 2) + "|")
        raw_ap = result["methods"].get("raw", {}).get("oks_ap")
        for name, row in result["methods"].items():
            linked = Linkage(**row["linkage"]).cells() if "linkage" in row else {}
            cells = [
                linked.get(key, "-") if key in _LINKAGE else _fmt(row.get(key), key) for key, _ in columns
            ]
            if "oks_ap_interval" in row:
                cells[-2] += f" {_fmt_interval(row['oks_ap_interval'])}"
            rel = "" if not raw_ap else f"{100 * row['oks_ap'] / raw_ap:.0f} %"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {rel} |")
        if any("linkage" in row for row in result["methods"].values()):
            lines += ["", "Identity (dlib 128-d, given the raw face's location, each portrait its own "
                      "person): self = within 0.6 of its own raw face, impostor = of another portrait's; "
                      "rank-1 = its own raw face is the nearest, against chance (1 / faces; p: as many "
                      "hits or more by guessing); AUC 0.5 = no identity; [95 %]: bootstrap over "
                      "portraits."]  # fmt: skip
        if "resampled" in result["methods"]:
            lines += ["", "resampled: the raw portrait at GX's input size and back, no network (what a "
                      "generator of that size can at best keep)."]  # fmt: skip
        lines.append("")
    summary = report.get("summary", {})
    if summary.get("methods"):
        lines += [
            "## All sources",
            "",
            f"OKS AP of each method over the {summary['portraits']} portraits, each source weighted by "
            "its portraits (labelled sources against their labels, folders against the teacher); "
            "intervals: 95 % bootstrap over portraits, the same draws for every method.",
            "",
            "| method | OKS AP | 95 % interval | AP vs raw | 95 % interval (paired) |",
            "|---|---|---|---|---|",
        ]
        raw_ap = summary["methods"].get("raw", {}).get("oks_ap")
        for name, row in summary["methods"].items():
            interval = _fmt_interval(row.get("oks_ap_interval"))
            rel = f"{100 * row['oks_ap'] / raw_ap:.0f} %" if raw_ap else ""
            paired = _fmt_interval(row.get("ap_vs_raw_interval"), percent=True)
            lines.append(f"| {name} | {row['oks_ap']:.3f} | {interval} | {rel} | {paired} |")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    paths = [out / "report.json", out / "report.md"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return paths
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for source, result in report["sources"].items():
        for name, row in result.get("methods", {}).items():
            x = row.get("face_detection_rate")
            if x is None or row.get("oks_ap") is None:
                continue
            ax.scatter([100 * x], [row["oks_ap"]])
            ax.annotate(f"{name} ({Path(source.split(':')[1]).stem})", (100 * x, row["oks_ap"]), fontsize=7)
    ax.set_xlabel("faces YuNet still finds (%)")
    ax.set_ylabel("pose OKS AP")
    ax.set_title("privacy vs utility (after libx264)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "privacy_utility.png", dpi=120)
    plt.close(fig)
    return [*paths, out / "privacy_utility.png"]


#: The report's identity columns, the cells of :meth:`recanon_sdk.metrics.linkage.Linkage.cells`.
_LINKAGE = ("self [95 %]", "impostor [95 %]", "rank-1 (chance, p)", "AUC [95 %]", "verdict")


def _fmt_interval(interval: Sequence[float] | None, percent: bool = False) -> str:
    """``[low, high]`` as report text (``-`` when absent); ``percent``: as whole percentages.

    >>> _fmt_interval([0.2671, 0.4012]), _fmt_interval([0.37, 0.554], percent=True), _fmt_interval(None)
    ('[0.267, 0.401]', '[37 %, 55 %]', '-')
    """
    if interval is None:
        return "-"
    if percent:
        return f"[{100 * interval[0]:.0f} %, {100 * interval[1]:.0f} %]"
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _fmt(value: Any, key: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if key == "face_detection_rate":
        return f"{100 * value:.1f} %"
    return f"{value:.2f}" if key == "psnr" else f"{value:.3f}"
