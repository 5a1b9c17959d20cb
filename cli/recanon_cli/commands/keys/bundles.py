"""``recanon keys seal|seal-gy|open|rewrap``: sealed bundles, signed by the deployment's device key.

Holders accept only bundles signed by the deployment's device key: sealing and re-wrapping need
that key, opening checks the signature against the deployment before anything is decrypted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stdout
from recanon_cli._lazy import lazy_module

from ._common import (
    AllowUnsigned,
    DeploymentOpt,
    DeviceKeyOpt,
    KeyOpt,
    Overwrite,
    PassphraseFile,
    _errors,
    _load_deployment,
    _load_private,
    _warnings_shown,
    app,
)

rk = lazy_module("recanon_keys")  # loaded on first use: a command that signs nothing skips it

DevicePassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--device-passphrase-file",
        help="Passphrase file of the device key, if it has one and it differs from your key's "
        "(default: as for --key).",
        show_default=False,
        dir_okay=False,
    ),
]


@app.command("seal", no_args_is_help=True)
def seal(
    source: Annotated[
        Path, typer.Argument(help="The file to seal, e.g. GY weights.", show_default=False, dir_okay=False)
    ],
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    model: Annotated[
        str,
        typer.Option(
            "--model", help="Model name bound into the bundle, e.g. gy (required).", show_default=False
        ),
    ],
    model_version: Annotated[
        str,
        typer.Option(
            "--model-version", help="Model version bound into the bundle (required).", show_default=False
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Bundle to write (default: SOURCE.sealed).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Seal a file to every key holder of a deployment, signed by its device key.

    The plaintext is not deleted: do that yourself.

    Example: recanon keys seal gy.safetensors -d lobby.deployment --device-key lobby.device.key --model gy
    --model-version 1
    """
    out = out or source.with_name(source.name + ".sealed")
    with _errors():
        dep = _load_deployment(deployment)
        device = _load_private(device_key, passphrase_file, "device-key", rk.load_device_key)
        info = rk.seal_file(
            source,
            out,
            deployment=dep,
            model_name=model,
            model_version=model_version,
            device_key=device,
            overwrite=overwrite,
        )
    stdout.print(
        f"{out}: {info.model_name} {info.model_version}, {info.size} bytes, sha256 {info.sha256}, "
        f"signed by {info.signer}",
        markup=False,
    )
    for kid in info.recipients:
        holder = dep.holder(kid)
        stdout.print(f"  sealed to {kid} ({holder.label if holder else '?'})", markup=False)


@app.command("seal-gy", no_args_is_help=True)
def seal_gy(
    gy: Annotated[
        Path, typer.Argument(help="Trained GY weights (gy.safetensors).", show_default=False, dir_okay=False)
    ],
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Bundle to write (default: <deployment>.gy.sealed).", show_default=False
        ),
    ] = None,
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Seal GY together with this deployment's model secret to its key holders (for learned recovery).

    The secret is derived from the device key (the device derives the same one for GX), which also
    signs the bundle, so run this where the device key is. Holders open the bundle with
    `recanon recover --bundle`.

    Example: recanon keys seal-gy gy.safetensors -d lobby.deployment --device-key cam.device.key
    """
    from recanon_keys._atomic import write_atomic

    from recanon_cli._console import require_torch

    require_torch("recanon keys seal-gy")
    out = out or deployment.with_name(f"{deployment.stem}.gy.sealed")
    if not gy.is_file():
        fail(f"'{gy}' does not exist", "pass the gy.safetensors written by `recanon train`")
    with _errors():
        dep = _load_deployment(deployment)
        device = _load_private(device_key, passphrase_file, "device-key", rk.load_device_key)
        secret = rk.derive_model_secret(device, dep)
        from recanon_sdk.models.weights import load_model
        from recanon_sdk.runtime.sealed_gy import seal_gy as seal_gy_bundle

        try:
            model, meta = load_model(gy)
        except Exception as error:  # safetensors and torch raise many kinds
            fail(f"'{gy}' is not a recanon model file: {error}")
        if not str(meta.get("arch", "")).startswith("gy"):
            fail(f"'{gy}' holds {meta.get('arch')!r}, not a GY model")
        bundle = seal_gy_bundle(
            model,
            meta["arch"],
            secret,
            deployment=dep,
            device_key=device,
            input_size=tuple(meta.get("input_size") or (128, 64)),
            kwargs=meta.get("kwargs") or {},
        )
        write_atomic(out, bundle, mode=0o644, overwrite=overwrite)
    stdout.print(
        f"{out}: GY {meta['arch']} and the model secret of {dep.name!r}, {len(bundle)} bytes, "
        f"signed by {device.key_id}",
        markup=False,
    )
    for holder in dep.holders:
        stdout.print(f"  sealed to {holder.key_id} ({holder.label})", markup=False)


@app.command("open", no_args_is_help=True)
def open_bundle(
    bundle: Annotated[Path, typer.Argument(help="The sealed bundle.", show_default=False, dir_okay=False)],
    key: KeyOpt,
    deployment: DeploymentOpt,
    model: Annotated[
        str | None, typer.Option("--model", help="Expected model name (default: any).", show_default=False)
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option("--model-version", help="Expected model version (default: any).", show_default=False),
    ] = None,
    allow_unsigned: AllowUnsigned = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Check that your key opens a bundle: signature, then decryption in memory. Writes nothing.

    The bundle's device signature is checked against the deployment before anything is decrypted;
    prints the plaintext's SHA-256.

    Example: recanon keys open gy.bundle --key alice.key -d lobby.deployment
    """
    with _errors(), _warnings_shown(rk.UnsignedBundleWarning):
        dep = _load_deployment(deployment)
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
        data = rk.open_sealed(
            bundle,
            holder,
            deployment=dep,
            model_name=model,
            model_version=model_version,
            unsafe_allow_unsigned=allow_unsigned,
        )
        info = rk.read_bundle_info(bundle)
    signed = f"signed by {info.signer}" if info.signer else "UNSIGNED"
    stdout.print(
        f"{bundle}: opens with {holder.key_id} ({holder.label}); {info.model_name} {info.model_version}, "
        f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()} ({signed}, verified)",
        markup=False,
    )


@app.command("rewrap", no_args_is_help=True)
def rewrap(
    bundle: Annotated[Path, typer.Argument(help="The sealed bundle.", show_default=False, dir_okay=False)],
    key: KeyOpt,
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The new bundle (required).", show_default=False, dir_okay=False),
    ],
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Also re-encrypt under a fresh data key, to revoke removed holders (default: off).",
        ),
    ] = False,
    allow_unsigned: AllowUnsigned = False,
    passphrase_file: PassphraseFile = None,
    device_passphrase_file: DevicePassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Re-seal a bundle to the deployment's current holders, signed by its device key.

    You must be able to open it. With --allow-unsigned, this is how an old unsigned bundle becomes
    a signed one.

    Example: recanon keys rewrap gy.bundle --key alice.key -d lobby.deployment --device-key
    lobby.device.key --out gy.v2.bundle --rotate
    """
    with _errors(), _warnings_shown(rk.UnsignedBundleWarning):
        dep = _load_deployment(deployment)
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
        device = _load_private(
            device_key, device_passphrase_file or passphrase_file, "device-key", rk.load_device_key
        )
        op = rk.rotate_file if rotate else rk.rewrap_file
        info = op(
            bundle,
            out,
            holder,
            deployment=dep,
            device_key=device,
            overwrite=overwrite,
            unsafe_allow_unsigned=allow_unsigned,
        )
    stdout.print(
        f"{out}: {'rotated (fresh data key)' if rotate else 're-wrapped (same payload)'}, "
        f"signed by {info.signer}, sealed to {', '.join(info.recipients)}",
        markup=False,
    )
