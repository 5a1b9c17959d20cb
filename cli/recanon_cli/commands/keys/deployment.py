"""``recanon keys init|upgrade|inspect``: create a deployment, bring an old one to v2, show any file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import stdout
from recanon_cli._lazy import lazy_module
from recanon_cli._untrusted import say

from ._common import (
    DeploymentOpt,
    DeviceKeyOpt,
    NoPassphrase,
    Overwrite,
    PassphraseFile,
    _errors,
    _load_deployment,
    _plain_name,
    _read_holder_pub,
    _resign_deployment,
    _save_private,
    _write_public,
    app,
)

rk = lazy_module("recanon_keys")  # loaded on first use: a command that signs nothing skips it

HolderPubs = Annotated[
    list[Path] | None,
    typer.Option(
        "--holder",
        help="A holder's public key file; repeat for several (default: none, add them later).",
        show_default=False,
        dir_okay=False,
    ),
]


@app.command("init", no_args_is_help=True)
def init(
    name: Annotated[
        str,
        typer.Option(
            "--deployment",
            help="Name of the new deployment, e.g. lobby (required): letters, digits, -, _, . "
            "(it names the files NAME.deployment and NAME.device.key).",
            show_default=False,
        ),
    ],
    holders: HolderPubs = None,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--dir",
            help="Folder for NAME.deployment and NAME.device.key (default: the current folder).",
            show_default=False,
            file_okay=False,
        ),
    ] = Path("."),
    device_label: Annotated[
        str | None,
        typer.Option(
            "--device-label", help="Name of the device key (default: NAME-device).", show_default=False
        ),
    ] = None,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            help="Sign a sidecar checkpoint every N lines (default: 256).",
            min=1,
            max=65536,
            show_default=False,
        ),
    ] = 256,
    min_holders: Annotated[
        int,
        typer.Option(
            help="Refuse to seal to fewer holders (default: 1; 2 is wiser).",
            min=1,
            max=32,
            show_default=False,
        ),
    ] = 1,
    no_passphrase: NoPassphrase = False,
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Create a deployment: a device signing key and a deployment file it signs.

    Example: recanon keys init --deployment lobby --holder alice.pub --holder bob.pub
    """
    _plain_name(name, "deployment name")
    dep_path, key_path = out_dir / f"{name}.deployment", out_dir / f"{name}.device.key"
    with _errors():
        for path in (dep_path, key_path):
            if path.exists() and not overwrite:
                raise FileExistsError(None, None, str(path))
        pubs = [_read_holder_pub(p) for p in holders or []]
        device = rk.generate_device_key(device_label or f"{name}-device")
        dep = rk.create_deployment(
            name,
            device_key=device,
            holders=pubs,
            policy=rk.Policy(checkpoint_every=checkpoint_every, min_holders=min_holders),
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        _save_private(
            key_path,
            device,
            no_passphrase=no_passphrase,
            passphrase_file=passphrase_file,
            overwrite=overwrite,
        )
        _write_public(dep_path, dep.to_bytes(), overwrite=overwrite)
    stdout.print(f"deployment {name!r} {dep.deployment_id}", markup=False)
    stdout.print(
        f"  deployment file  {dep_path}  (public; give it to holders and investigators)", markup=False
    )
    stdout.print(
        f"  device key       {key_path}  {device.key_id}  (mode 0600; stays on the device)", markup=False
    )
    for h in dep.holders:
        stdout.print(f"  holder           {h.key_id} ({h.label}), audit key {h.audit_key_id}", markup=False)
    stdout.print(
        "  investigators should confirm the deployment id and device key id out of band", markup=False
    )


@app.command("upgrade", no_args_is_help=True)
def upgrade(
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    holders: HolderPubs = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Turn a v1 deployment file into a v2 revision that pins every holder's audit key (in place).

    Give every current holder's public key file (`recanon keys holder pub` writes one from their
    private key). The deployment id, and so the model secret and every signature made so far, stay.

    Example: recanon keys upgrade -d lobby.deployment --device-key lobby.device.key --holder alice.pub
    """
    with _errors():
        dep = _load_deployment(deployment)
        pubs = [_read_holder_pub(p) for p in holders or []]
        new = _resign_deployment(
            deployment,
            device_key,
            passphrase_file,
            lambda device: dep.with_audit_keys(pubs, device_key=device),
        )
    stdout.print(
        f"{deployment}: revision {new.revision} (recanon-deployment/v2), audit keys pinned", markup=False
    )
    for h in new.holders:
        stdout.print(f"  holder {h.key_id} ({h.label}), audit key {h.audit_key_id}", markup=False)


@app.command("inspect", no_args_is_help=True)
def inspect(
    path: Annotated[
        Path,
        typer.Argument(
            help="Any recanon key file, deployment, bundle, sidecar signature or manifest.",
            show_default=False,
            dir_okay=False,
        ),
    ],
) -> None:
    """Show what a recanon file is and what it says (never needs or shows a secret).

    Example: recanon keys inspect gy.bundle
    """
    with _errors():
        info = rk.inspect_file(path)
    say(stdout, f"{path}: {info.title}")
    width = max((len(name) for name, _ in info.fields), default=0)
    for name, value in info.fields:
        say(stdout, f"  {name.ljust(width)}  {value}")
    for note in info.notes:
        say(stdout, f"  note: {note}", style="dim")
