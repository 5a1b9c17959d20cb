"""From the options to the SDK's settings, one clear error per mistake (shared by one file and a batch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recanon_cli._console import fail, warn
from recanon_cli.commands.anonymize.options import AnonymizeOptions, EnhancerName

if TYPE_CHECKING:
    from recanon_sdk.anonymizer import AnonymizerConfig
    from recanon_sdk.detect.pose import DetectorConfig


def anonymizer_config(opts: AnonymizeOptions, *, stills: bool) -> tuple[AnonymizerConfig, tuple[int, int]]:
    """The anonymizer settings for video (or ``stills``) and the tiles in use."""
    from recanon_sdk.anonymizer import AnonymizerConfig
    from recanon_sdk.cadence import CadenceConfig
    from recanon_sdk.detect.tracking import TrackerConfig
    from recanon_sdk.geometry import CropGeometry
    from recanon_sdk.video.writer import EncoderConfig

    try:
        tiles(opts)
    except ValueError:
        fail(f"--tiles '{opts.tiles}' is not of the form ROWSxCOLS", "for example --tiles 2x2")
    try:
        detector = detector_settings(opts, stills=stills)
        config = AnonymizerConfig(
            detector=detector,
            tracker=TrackerConfig(hold_frames=opts.hold),
            geometry=CropGeometry(margin=opts.margin),
            enhancer=opts.enhancer_name if opts.enhancer_name != "picture" else "blur",
            strength=opts.strength,
            encoder=EncoderConfig(
                codec=opts.codec, crf=opts.crf, preset=opts.preset, threads=opts.encoder_threads
            ),
            keep_audio=opts.keep_audio,
            policy=hide_policy(opts),
            draw_pose=opts.draw_pose,
            cadence=CadenceConfig(
                detect_every=opts.detect_every,
                crop_pose_people=opts.crop_pose,
                crop_pose_still_px=opts.crop_pose_still,
                still_detect_every=opts.still_detect_every,
            ),
        )
    except ValueError as error:
        fail(f"invalid option: {error}")
    return config, detector.tiles


def detector_settings(opts: AnonymizeOptions, *, stills: bool) -> DetectorConfig:
    """The pose detector's settings for video (or ``stills``); ``ValueError`` for an invalid one."""
    from recanon_sdk.detect.pose import DetectorConfig

    preset = DetectorConfig.for_stills() if stills else DetectorConfig()
    return DetectorConfig(
        weights=opts.pose_model,
        imgsz=opts.imgsz if opts.imgsz is not None else preset.imgsz,
        conf=opts.conf,
        tiles=tiles(opts) or preset.tiles,
        device=opts.device,
        crowd_people=opts.crowd_people,
    )


def tiles(opts: AnonymizeOptions) -> tuple[int, int] | None:
    """``--tiles ROWSxCOLS`` as ``(rows, cols)``, ``None`` when not given; ``ValueError`` otherwise."""
    if not opts.tiles:
        return None
    rows, cols = (int(v) for v in opts.tiles.lower().split("x"))
    return rows, cols


def hide_policy(opts: AnonymizeOptions):
    """Who is hidden (``--region``, ``--zones``, ``--exclude-zones``, ``--keep-track``, ``--max-region``)."""
    from recanon_sdk.policy import HidePolicy

    from recanon_cli.commands.anonymize.zones import read_zones

    return HidePolicy(
        region=opts.region,
        include_zones=tuple(read_zones(opts.zones, "--zones")) if opts.zones else (),
        exclude_zones=tuple(read_zones(opts.exclude_zones, "--exclude-zones")) if opts.exclude_zones else (),
        keep_tracks=frozenset(opts.keep_tracks),
        max_region=opts.max_region,
    )


def warn_policy(config: AnonymizerConfig) -> None:
    """One warning per thing the hiding policy shows that the default would hide."""
    for reduction in config.policy.reductions():
        warn(f"{reduction}; recorded in the sidecar header (anonymization.policy)")


def parse_color(text: str) -> tuple[int, int, int]:
    """``"R,G,B"`` → a colour; ends the command with one sentence for anything else."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        fail(f"--color '{text}' is not R,G,B", "three whole numbers from 0 to 255, e.g. --color 0,0,0")
    return (int(parts[0]), int(parts[1]), int(parts[2]))


def build_enhancer(opts: AnonymizeOptions):
    """The enhancer object the look options ask for, or ``None`` when its name alone says it (the
    anonymizer then builds it from the config). One clear error per option that does not fit."""
    from recanon_sdk.enhance import Blur, Ellipse, Mask, Pixelate, Replace, Skeleton
    from recanon_sdk.errors import RecanonError

    name = opts.enhancer_name
    fits = {"--blur-px": ("blur",), "--cell-px": ("pixelate",), "--color": ("mask", "ellipse", "skeleton")}
    for option, value in (("--blur-px", opts.blur_px), ("--cell-px", opts.cell_px), ("--color", opts.color)):
        if value is not None and name not in fits[option]:
            fail(
                f"{option} does not apply to --enhancer {name}",
                f"{option} is for --enhancer {' or '.join(fits[option])}",
            )
    if opts.replace_with is not None and name != "picture":
        fail(
            f"--replace-with is a picture for --enhancer picture, not {name}",
            "drop --enhancer or --replace-with",
        )
    if name == "picture":
        if opts.replace_with is None:
            fail("--enhancer picture needs --replace-with IMAGE", "e.g. --replace-with smiley.png")
        try:
            return Replace.from_file(opts.replace_with)
        except RecanonError as error:
            fail(f"--replace-with: {error.message}", *([error.hint] if error.hint else []))
    strength = {} if opts.strength is None else {"strength": opts.strength}
    if opts.blur_px is not None:
        return Blur(sigma_px=opts.blur_px, **strength)
    if opts.cell_px is not None:
        return Pixelate(cell_px=opts.cell_px, **strength)
    if opts.color is not None:
        color = parse_color(opts.color)
        if name == "mask":
            return Mask(color=color)
        if name == "skeleton":
            return Skeleton(fill=color)
        return Ellipse(
            inside=Mask(color=color), **({} if opts.strength is None else {"outside": Blur(**strength)})
        )
    return None


#: What to do when ONNX Runtime has no CUDA provider (github.com/microsoft/onnxruntime/issues/26996: with both
#: packages installed, the CPU build's module wins).
GPU_HINTS = (
    "onnxruntime and onnxruntime-gpu cannot share an environment: after installing the extra, run "
    "pip uninstall -y onnxruntime && pip install --force-reinstall onnxruntime-gpu",
    "or drop --device to run on the CPU",
)


def check_device(opts: AnonymizeOptions) -> None:
    """A GPU asked for with --device must be one the pose model can run on: never a silent CPU run."""
    from recanon_sdk.detect.backend import choose_backend
    from recanon_sdk.errors import RecanonError

    if opts.on_cpu:
        return
    device = opts.device.strip().lower()
    try:
        backend = choose_backend(opts.backend.value, opts.pose_model, device)  # type: ignore[arg-type]
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    if backend == "onnx" and opts.provider is None:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            fail(
                f"--device {opts.device} needs onnxruntime-gpu (pip install 'recanon[gpu]'): the "
                "installed onnxruntime runs on the CPU only",
                *GPU_HINTS,
            )
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            fail(
                f"--device {opts.device}: torch sees no CUDA device here",
                "check the driver and that torch is a CUDA build, or drop --device to run on the CPU",
            )


def check_on_device(detector, opts: AnonymizeOptions) -> None:
    """After loading: an ONNX Runtime that fell back to the CPU (CUDA libraries missing) is refused."""
    if opts.on_cpu:
        return
    active = getattr(detector, "providers", None)
    if active and not any(p in ("CUDAExecutionProvider", "TensorrtExecutionProvider") for p in active):
        fail(
            f"--device {opts.device}: ONNX Runtime could not start CUDA and would run on the CPU "
            f"(providers: {', '.join(active)})",
            "check the CUDA and cuDNN libraries onnxruntime-gpu needs, or drop --device to run on the CPU",
        )


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
    if opts.enhancer != EnhancerName.gx:
        return config  # no model secret to derive: recanon_keys is not imported
    import recanon_keys as rk

    model_secret = None
    if opts.gx_weights is not None and opts.gx_weights.endswith(".onnx"):
        if signer is not None:  # a GX with key inputs is fed the secret; one exported per deployment has it
            model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
        return dataclasses.replace(config, gx_weights=opts.gx_weights, model_secret=model_secret)
    if signer is None:
        fail(
            "--enhancer gx needs --deployment and --device-key",
            "GX is keyed per deployment; its secret is derived from the device key",
        )
    model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
    return dataclasses.replace(config, model_secret=model_secret, gx_weights=opts.gx_weights)


def originals_settings(deployment: Path | None, quality: str):
    """The deployment whose holders get the sealed originals, and how they are compressed."""
    from recanon_keys import PUBLIC_DEMO_KEY_IDS
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
    if any(holder.key_id in PUBLIC_DEMO_KEY_IDS for holder in dep.holders):
        warn(
            f"deployment {dep.name!r} seals the originals to the public DEMO holder key: anyone can "
            "recover these people; never use it for real footage"
        )
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
    warn_if_demo_device_key(device_key, key.key_id)
    try:
        return RunSigner(key, dep)
    except ValueError as error:
        fail(str(error), "use the device key the deployment was created with")


def warn_if_demo_device_key(device_key: Path, key_id: str) -> None:
    """Say so when a run signs with the published DEMO device key (single runs and batches alike)."""
    from recanon_keys import PUBLIC_DEMO_KEY_IDS

    if key_id in PUBLIC_DEMO_KEY_IDS:
        warn(
            f"'{device_key}' is the public DEMO device key: anyone can sign as this camera and open what "
            "it seals; never use it for real footage (create your own with 'recanon keys init')"
        )


def device_key_passphrase(device_key: Path, passphrase_file: Path | None) -> str | None:
    """The device key's passphrase as a prompt or file gives it (``None`` for an unprotected key)."""
    import recanon_keys as rk

    from recanon_cli.commands.keys import _errors
    from recanon_cli.commands.keys._common import _passphrase, _warnings_shown

    with _errors(), _warnings_shown(rk.UnsafeKeyFileWarning):
        data = rk.read_private_key_file(device_key, kind="device-key")
        info = rk.read_key_file_info(data, kind="device-key", what=str(device_key))
    warn_if_demo_device_key(device_key, info.key_id)
    return _passphrase(passphrase_file, what=str(device_key), new=False) if info.protected else None
