"""``recanon eval``'s run: what to measure (:class:`EvalConfig`) and :func:`evaluate`, source by source.

For each source: its people (:mod:`~recanon_sdk.evaluation.sources`) cut into portraits
(:func:`recanon_sdk.portraits.portrait_crops`), every method's output after the codec
(:mod:`~recanon_sdk.evaluation.methods`), then per method PSNR/SSIM, OKS AP of P against the
reference keypoints (:mod:`~recanon_sdk.evaluation.metrics`), YuNet's face detection rate and
identity linkage (:mod:`recanon_sdk.metrics.faces`); finally the all-sources summary
(:func:`~recanon_sdk.evaluation.report.summarize`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recanon_sdk.datasets import shared_data_dir
from recanon_sdk.evaluation.methods import check_methods, gy_pair, keyless_attacker, method_outputs
from recanon_sdk.evaluation.metrics import (
    KEYPOINT_SETS,
    body_keypoints_only,
    bootstrap_draws,
    bootstrap_interval,
    oks_ap,
    psnr_ssim,
    teacher_keypoints,
)
from recanon_sdk.evaluation.report import format_interval, summarize
from recanon_sdk.evaluation.sources import source_records
from recanon_sdk.metrics.faces import face_embeddings, faces_found, portrait_linkage
from recanon_sdk.metrics.linkage import Linkage
from recanon_sdk.portraits import portrait_crops, portrait_poses

__all__ = ["EvalConfig", "evaluate"]

#: YuNet's file under the shared folder (``$RECANON_SHARED``, default ``<repo>/../shared``).
YUNET = Path("models") / "face_detection_yunet_2026may.onnx"


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
    #: held-out portraits (the same split as ``recanon train``: ``datasets.split_indices``).
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


def evaluate(
    config: EvalConfig,
    log: Callable[[str], None] = print,
    *,
    sealed_gy: tuple[Any, bytes | None] | None = None,
) -> dict[str, Any]:
    """Run every method on every source; return the numbers (also what
    :func:`~recanon_sdk.evaluation.report.write_report` writes).

    ``sealed_gy``: a deployment's GY and secret as
    :func:`~recanon_sdk.runtime.sealed_gy.open_sealed_gy_with_secret` returns them, instead of plain
    ``config.gy_weights``: GX is keyed with that secret, so the GY rows measure the deployment's own
    recovery (``gy_wrong`` under a random secret), without GY's weights ever on disk.
    """
    rng = np.random.default_rng(config.seed)
    secret, wrong = (
        bytes(rng.integers(0, 256, 32, dtype=np.uint8)),
        bytes(rng.integers(0, 256, 32, dtype=np.uint8)),
    )
    # GX is keyed with ``secret`` (a sealed GY's own); GY with the right secret and with the wrong one
    secret, gy = gy_pair(config.gy_weights, sealed_gy, secret, wrong)
    attacker = keyless_attacker(config.attacker_weights) if config.attacker_weights else None
    yunet = config.yunet or str(shared_data_dir().parent / YUNET)
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
        raw_predictions = portrait_poses(raw, config.size)
        outputs, head_pin = method_outputs(
            raw,
            config.methods,
            size=config.size,
            crf=config.crf,
            raw_predictions=raw_predictions,
            gx=gx,
            generator_size=generator_size,
            gy=gy,
            attacker=attacker,
        )
        reference = truth if labelled else teacher_keypoints(raw_predictions)
        if config.keypoints == "body":
            reference = body_keypoints_only(reference)
        raw_faces = faces_found(raw, yunet) if Path(yunet).is_file() else None
        orders = bootstrap_draws(len(raw), config.intervals, config.seed)  # every method's draws
        rows = {}
        for name, crops in outputs.items():
            rows[name] = _row(config, name, raw, crops, reference, raw_faces, yunet, orders, draws, source)
            log(
                f"  {name:9s} "
                + "  ".join(f"{k} {v:.3f}" for k, v in rows[name].items() if isinstance(v, float))
            )
            if "linkage" in rows[name]:
                log(f"  {'':9s} identity: {Linkage(**rows[name]['linkage']).summary()}")
        report["sources"][source] = {
            "portraits": len(raw),
            "ground_truth": ("keypoint labels" if labelled else "P on the raw portrait (teacher)")
            + (", the 12 body keypoints only" if config.keypoints == "body" else ""),
            "raw_faces_yunet": None if raw_faces is None else int(sum(raw_faces)),
            "methods": rows,
        }
        if head_pin is not None:  # a head-pinned GX: how much of the portraits it pinned
            report["sources"][source]["gx_head_pin"] = head_pin
    report["summary"] = summarize(report, draws)
    for name, row in report["summary"]["methods"].items():
        interval = f" {format_interval(row['oks_ap_interval'])}" if "oks_ap_interval" in row else ""
        share = row.get("ap_vs_raw_interval")
        share_text = "" if share is None else f", of raw {format_interval(share, percent=True)}"
        log(f"all sources, weighted: {name:9s} OKS AP {row['oks_ap']:.3f}{interval}{share_text}")
    return report


def _row(
    config: EvalConfig,
    name: str,
    raw: list[np.ndarray],
    crops: list[np.ndarray],
    reference: list[np.ndarray | None],
    raw_faces: list[bool] | None,
    yunet: str,
    orders: np.ndarray,
    draws: dict[str, dict[str, np.ndarray]],
    source: str,
) -> dict[str, Any]:
    """One method's figures on one source's portraits (its bootstrap APs added to ``draws``)."""
    psnr, ssim = psnr_ssim(raw, crops)
    judge = None if name in ("raw", "resampled") else config.pose_weights
    predictions = portrait_poses(crops, config.size, judge)
    ap, ap50 = oks_ap(reference, predictions, config.size)
    row: dict[str, Any] = {"psnr": psnr, "ssim": ssim, "oks_ap": ap, "oks_ap50": ap50}
    if config.intervals:
        per_draw = np.array([oks_ap(reference, predictions, config.size, o)[0] for o in orders])
        draws.setdefault(name, {})[source] = per_draw
        row["oks_ap_interval"] = bootstrap_interval(per_draw)
    if raw_faces is not None and any(raw_faces):
        found = faces_found(crops, yunet)
        row["face_detection_rate"] = float(np.mean([f for f, r in zip(found, raw_faces, strict=True) if r]))
    faces = face_embeddings(raw, crops) if config.reid else None
    if faces:
        row.update(portrait_linkage(faces, seed=config.seed))
    return row
