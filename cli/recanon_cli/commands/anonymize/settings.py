"""From the options to the SDK's settings, one clear error per mistake (shared by one file and a batch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recanon_cli._console import fail
from recanon_cli.commands.anonymize.options import AnonymizeOptions, EnhancerName

if TYPE_CHECKING:
    from recanon_sdk.anonymizer import AnonymizerConfig


def anonymizer_config(opts: AnonymizeOptions, *, stills: bool) -> tuple[AnonymizerConfig, tuple[int, int]]:
    """The anonymizer settings for video (or ``stills``) and the tiles in use."""
    from recanon_sdk.anonymizer import AnonymizerConfig
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.detect.tracking import TrackerConfig
    from recanon_sdk.geometry import CropGeometry
    from recanon_sdk.video.writer import EncoderConfig

    preset = DetectorConfig.for_stills() if stills else DetectorConfig()
    imgsz = opts.imgsz if opts.imgsz is not None else preset.imgsz
    try:
        rows, cols = (int(v) for v in opts.tiles.lower().split("x")) if opts.tiles else preset.tiles
    except ValueError:
        fail(f"--tiles '{opts.tiles}' is not of the form ROWSxCOLS", "for example --tiles 2x2")
    try:
        config = AnonymizerConfig(
            detector=DetectorConfig(
                weights=opts.pose_model, imgsz=imgsz, conf=opts.conf, tiles=(rows, cols), device=opts.device
            ),
            tracker=TrackerConfig(hold_frames=opts.hold),
            geometry=CropGeometry(margin=opts.margin),
            enhancer=opts.enhancer.value,
            strength=opts.strength,
            encoder=EncoderConfig(codec=opts.codec, crf=opts.crf, preset=opts.preset),
            keep_audio=opts.keep_audio,
        )
    except ValueError as error:
        fail(f"invalid option: {error}")
    return config, (rows, cols)


def check_signing_options(opts: AnonymizeOptions) -> None:
    if opts.device_key is not None and opts.deployment is None:
        fail("signing needs both --deployment and --device-key", "pass both, or neither for an unsigned run")
    if opts.deployment is not None and opts.device_key is None and not opts.seal_originals:
        fail(
            "--deployment alone does nothing",
            "add --device-key to sign the run, and/or --seal-originals to keep the originals for its holders",
        )


def with_gx(config: AnonymizerConfig, opts: AnonymizeOptions, signer: Any | None) -> AnonymizerConfig:
    """``config`` with the GX weights and the model secret derived from the device key (if any)."""
    import recanon_keys as rk

    model_secret = None
    if opts.enhancer == EnhancerName.gx and opts.gx_weights is not None and opts.gx_weights.endswith(".onnx"):
        if signer is not None:  # a GX with key inputs is fed the secret; one exported per deployment has it
            model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
        return dataclasses.replace(config, gx_weights=opts.gx_weights, model_secret=model_secret)
    if opts.enhancer == EnhancerName.gx:
        if signer is None:
            fail(
                "--enhancer gx needs --deployment and --device-key",
                "GX is keyed per deployment; its secret is derived from the device key",
            )
        model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
        return dataclasses.replace(config, model_secret=model_secret, gx_weights=opts.gx_weights)
    return config


def originals_settings(deployment: Path | None, quality: str):
    """The deployment whose holders get the sealed originals, and how they are compressed."""
    from recanon_sdk.originals import OriginalsConfig

    from recanon_cli.commands.keys import _errors, _load_deployment

    if deployment is None:
        fail("--seal-originals needs --deployment (the holders to seal them to)")
    if not deployment.is_file():
        fail(f"'{deployment}' does not exist", "create a deployment with 'recanon keys init'")
    with _errors():
        dep = _load_deployment(deployment)
    if not dep.holders:
        fail(f"deployment {dep.name!r} has no holders yet", "add one with 'recanon keys holder add'")
    if quality.strip().lower() == "lossless":
        return dep, OriginalsConfig(lossless=True)
    if not quality.isdigit() or not 0 <= int(quality) <= 51:
        fail(f"--originals-quality '{quality}' is neither a CRF from 0 to 51 nor 'lossless'")
    return dep, OriginalsConfig(crf=int(quality))


def load_signer(deployment: Path, device_key: Path, passphrase_file: Path | None):
    """Load the deployment and device key (one clear error each) and build the run signer."""
    from recanon_keys import load_device_key
    from recanon_sdk.signing import RunSigner

    from recanon_cli.commands.keys import _errors, _load_deployment, _load_private

    for path in (deployment, device_key):
        if not path.is_file():
            fail(f"'{path}' does not exist", "create a deployment with 'recanon keys init'")
    with _errors():
        dep = _load_deployment(deployment)
        key = _load_private(device_key, passphrase_file, "device-key", load_device_key)
    try:
        return RunSigner(key, dep)
    except ValueError as error:
        fail(str(error), "use the device key the deployment was created with")


def device_key_passphrase(device_key: Path, passphrase_file: Path | None) -> str | None:
    """The device key's passphrase as a prompt or file gives it (``None`` for an unprotected key)."""
    import recanon_keys as rk

    from recanon_cli.commands.keys import _errors
    from recanon_cli.commands.keys._common import _passphrase, _warnings_shown

    with _errors(), _warnings_shown(rk.UnsafeKeyFileWarning):
        data = rk.read_private_key_file(device_key, kind="device-key")
        protected = rk.read_key_file_info(data, kind="device-key", what=str(device_key)).protected
    return _passphrase(passphrase_file, what=str(device_key), new=False) if protected else None
