"""The anonymizer's settings: nested dataclasses, or flat keywords that build them.

:class:`AnonymizerConfig` groups the settings by part (detector, tracker, crop geometry, encoder,
hiding policy). :func:`build_config` lets a caller name any field of any part directly, as
``Anonymizer(conf=0.3, imgsz=1280, enhancer="pixelate", region="head")`` does:

>>> config = build_config(None, conf=0.3, imgsz=1280, enhancer="pixelate", region="head")
>>> config.detector.conf, config.detector.imgsz, config.enhancer, config.policy.region
(0.3, 1280, 'pixelate', 'head')
>>> build_config(None, confidence=0.3)
Traceback (most recent call last):
...
TypeError: unknown anonymizer option 'confidence'; valid options: activation_threshold, batch_size, ...
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from recanon_sdk.cadence import CadenceConfig
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.tracking import TrackerConfig
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.policy import HidePolicy
from recanon_sdk.video.writer import EncoderConfig


@dataclass(frozen=True, slots=True)
class AnonymizerConfig:
    """Everything that decides how a video is anonymized; defaults work offline.

    ``policy`` decides who is hidden and how much of them (default: everyone, whole;
    :mod:`recanon_sdk.policy`); ``draw_pose`` draws every person's skeleton and track id onto the
    output (:func:`recanon_sdk.draw.draw_people`), recorded in the sidecar header. ``cadence``: how
    often the full pose detector runs, and what carries people in between (:mod:`recanon_sdk.cadence`).
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    geometry: CropGeometry = field(default_factory=CropGeometry)
    enhancer: str = "blur"
    strength: float | None = None
    #: The deployment's model secret, for the keyed ``gx`` enhancer (never shown in repr).
    model_secret: bytes | None = field(default=None, repr=False)
    gx_weights: str | None = None
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    keep_audio: bool = False
    batch_size: int = 4
    queue_size: int = 8
    policy: HidePolicy = field(default_factory=HidePolicy)
    draw_pose: bool = False
    cadence: CadenceConfig = field(default_factory=CadenceConfig)


#: The nested parts whose fields :func:`build_config` accepts by name.
PARTS = {
    "detector": DetectorConfig,
    "tracker": TrackerConfig,
    "geometry": CropGeometry,
    "encoder": EncoderConfig,
    "policy": HidePolicy,
    "cadence": CadenceConfig,
}


def option_names() -> dict[str, str | None]:
    """Every flat option: its name → the part it belongs to (``None``: a field of the config itself)."""
    names: dict[str, str | None] = {
        f.name: None for f in dataclasses.fields(AnonymizerConfig) if f.name not in PARTS
    }
    for part, cls in PARTS.items():
        for f in dataclasses.fields(cls):
            if f.name in names:  # a name in two parts would be ambiguous: none is, keep it so
                raise RuntimeError(f"option {f.name!r} is in two parts of AnonymizerConfig")
            names[f.name] = part
    return names


def build_config(config: AnonymizerConfig | None, **options: Any) -> AnonymizerConfig:
    """``config`` (default: the defaults) with ``options`` applied, each to the part it names.

    Raises ``TypeError`` naming the valid options for an unknown one, and what the parts raise
    (``ValueError``) for a bad value.
    """
    if config is not None and not isinstance(config, AnonymizerConfig):
        raise TypeError(f"config must be an AnonymizerConfig, got {type(config).__name__}")
    config = config or AnonymizerConfig()
    if not options:
        return config
    names = option_names()
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise TypeError(
            f"unknown anonymizer option {unknown[0]!r}; valid options: {', '.join(sorted(names))}"
        )
    top = {name: value for name, value in options.items() if names[name] is None}
    for part in PARTS:
        fields = {name: value for name, value in options.items() if names[name] == part}
        if fields:
            top[part] = dataclasses.replace(getattr(config, part), **fields)
    return dataclasses.replace(config, **top)
