"""What a run records about itself: the sidecar header (source, output, models, settings) and the
model hashes the signed manifest lists.

Names are recorded as safe text: a stream URL without its credentials
(:func:`~recanon_sdk.names.redact_url`), a file name whose bytes are not UTF-8 with U+FFFD in their
place (:func:`~recanon_sdk.names.display_name`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recanon_sdk.detect.tracking import TRACKER_NAME
from recanon_sdk.names import display_name, redact_url
from recanon_sdk.video.reader import SourceInfo
from recanon_sdk.video.sidecar import make_header


def run_header(anonymizer: Any, info: SourceInfo, output: Path) -> dict[str, Any]:
    """The sidecar header of one run of ``anonymizer`` from ``info`` into ``output``."""
    config = anonymizer.config
    return make_header(
        source={
            "name": redact_url(info.name) if info.kind == "stream" else display_name(info.name),
            "kind": info.kind,
            "width": info.width,
            "height": info.height,
            "time_base": str(info.time_base),
            "average_rate": None if info.average_rate is None else str(info.average_rate),
        },
        output={
            "name": display_name(output.name),
            "codec": config.encoder.encoder_name,
            "crf": config.encoder.crf,
        },
        models=model_ids(anonymizer, info.width, info.height),
        anonymization={
            "enhancer": anonymizer.enhancer.name,
            "margin": config.geometry.margin,
            "feather": config.geometry.feather,
            "hold_frames": getattr(config.tracker, "hold_frames", None),
            **cadence_record(getattr(config, "cadence", None)),
        },
    )


def cadence_record(cadence: Any) -> dict[str, Any]:
    """The header's ``anonymization.cadence``: how often the full detector ran, and what forced it
    in between (``{}`` for a config without a cadence).

    >>> from recanon_sdk.cadence import CadenceConfig
    >>> cadence_record(CadenceConfig())["cadence"]["detect_every"]
    3
    """
    if cadence is None:
        return {}
    return {
        "cadence": {
            "detect_every": cadence.detect_every,
            "flow_scale": cadence.flow_scale,
            "motion_threshold": cadence.motion_threshold,
            "min_motion_area": cadence.min_motion_area,
            "region_slack": cadence.region_slack,
            "motion_look_area": cadence.motion_look_area,
            "still_detect_every": cadence.still_detect_every,
            "crop_pose": {
                "people": cadence.crop_pose_people,
                "size": cadence.crop_pose_size,
                "margin": cadence.crop_pose_margin,
                "still_px": cadence.crop_pose_still_px,
            },
        }
    }


def model_hashes(anonymizer: Any) -> dict[str, str]:
    """``{"pose:NAME": sha256, "enhancer:NAME": sha256}`` of the weights in use, for the manifest."""
    weights = getattr(anonymizer.detector, "weights", None)
    hashes = {} if weights is None else {f"pose:{weights.name}": weights.sha256}
    enhancer_hash = getattr(anonymizer.enhancer, "weights_sha256", None)
    if enhancer_hash:
        hashes[f"enhancer:{anonymizer.enhancer.name}"] = enhancer_hash
    return hashes


def model_ids(anonymizer: Any, width: int, height: int) -> dict[str, Any]:
    """The header's ``models``: pose weights and settings, the tracker, the enhancer and its parameters."""
    detector, enhancer = anonymizer.detector, anonymizer.enhancer
    detector_config = anonymizer.config.detector
    models: dict[str, Any] = {}
    weights = getattr(detector, "weights", None)
    if weights is not None:
        models["pose"] = {
            "name": weights.name,
            "sha256": weights.sha256,
            "origin": weights.origin,
            "imgsz": detector_config.imgsz_for(width, height),
            "conf": detector_config.conf_for(width, height),
            "tiles": list(detector_config.tiles),
            "backend": getattr(detector, "backend", "custom"),
        }
        if hasattr(detector_config, "crowd_people"):
            models["pose"]["crowd"] = {
                "people": detector_config.crowd_people,  # 0: off
                "tiles": list(detector_config.crowd_tiles),
                "conf": detector_config.crowd_conf,
                "hint_conf": getattr(detector_config, "crowd_hint_conf", None),
                "iou": getattr(detector_config, "crowd_iou", None),
            }
        providers = getattr(detector, "providers", None)
        if providers:
            models["pose"]["providers"] = list(providers)
        precision = getattr(detector, "precision", None)
        if precision:
            models["pose"]["precision"] = precision  # f32, f16 or bf16: what the network computes in
    models["tracker"] = {"name": TRACKER_NAME}
    models["enhancer"] = {"name": enhancer.name, **_enhancer_params(enhancer)}
    enhancer_hash = getattr(enhancer, "weights_sha256", None)
    if enhancer_hash:
        models["enhancer"]["weights_sha256"] = enhancer_hash
    return models


def _enhancer_params(enhancer: Any) -> dict[str, Any]:
    params = {}
    for name in ("strength", "min_sigma", "min_cell", "color"):
        if hasattr(enhancer, name):
            value = getattr(enhancer, name)
            params[name] = list(value) if isinstance(value, tuple) else value
    return params
