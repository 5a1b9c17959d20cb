"""``recanon keys holder new|pub|add|remove``: key holders' key pairs and deployment membership."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stdout
from recanon_cli._lazy import lazy_module

from ._common import (
    DeploymentOpt,
    DeviceKeyOpt,
    KeyOpt,
    NoPassphrase,
    Overwrite,
    PassphraseFile,
    _errors,
    _load_deployment,
    _load_private,
    _plain_name,
    _read_holder_pub,
    _resign_deployment,
    _save_private,
    _write_public,
    holder_app,
)

rk = lazy_module("recanon_keys")  # loaded on first use: a command that signs nothing skips it


def _pub_path(out: Path) -> Path:
    return out.with_suffix(".pub") if out.suffix == ".key" else out.with_name(out.name + ".pub")


def _print_ids(pub: rk.HolderPublicKey) -> None:
    stdout.print(f"  key id       {pub.key_id}", markup=False)
    stdout.print(f"  audit key    {pub.audit_key_id}  (signs your recovery audit entries)", markup=False)


@holder_app.command("new", no_args_is_help=True)
def holder_new(
    label: Annotated[
        str,
        typer.Option(
            "--label",
            help="Name shown next to the key id, e.g. alice (required): letters, digits, -, _, .",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Private key file to write, e.g. alice.key (required); "
            "the public key goes next to it as alice.pub.",
            show_default=False,
            dir_okay=False,
        ),
    ],
    no_passphrase: NoPassphrase = False,
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Create a key holder's key pair: a passphrase-protected private key (0600) and its public key.

    Example: recanon keys holder new --label alice --out alice.key
    """
    _plain_name(label, "holder name")
    pub_path = _pub_path(out)
    with _errors():
        if not overwrite and pub_path.exists():
            raise FileExistsError(None, None, str(pub_path))
        holder = rk.generate_holder(label)
        _save_private(
            out, holder, no_passphrase=no_passphrase, passphrase_file=passphrase_file, overwrite=overwrite
        )
        _write_public(pub_path, holder.public.to_bytes(), overwrite=overwrite)
    stdout.print(f"holder {holder.key_id} ({label})", markup=False)
    stdout.print(f"  private key  {out}  (mode 0600; keep it and its passphrase safe)", markup=False)
    stdout.print(f"  public key   {pub_path}  (give it to the deployment's administrator)", markup=False)
    _print_ids(holder.public)
    stdout.print("  the administrator should confirm both ids with you before adding the key", markup=False)


@holder_app.command("pub", no_args_is_help=True)
def holder_pub(
    key: KeyOpt,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Public key file to write (required).", show_default=False),
    ],
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Write your public key file again from your private key (the current format, with your audit key).

    Example: recanon keys holder pub --key alice.key --out alice.pub --overwrite
    """
    with _errors():
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
        _write_public(out, holder.public.to_bytes(), overwrite=overwrite)
    stdout.print(f"{out}: public key of holder {holder.key_id} ({holder.label})", markup=False)
    _print_ids(holder.public)


@holder_app.command("add", no_args_is_help=True)
def holder_add(
    public_key: Annotated[
        Path, typer.Argument(help="The holder's public key file (*.pub).", show_default=False, dir_okay=False)
    ],
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Add a key holder to a deployment (a new signed revision, written in place).

    Existing bundles are not changed: re-wrap them with `recanon keys rewrap`.
    """
    with _errors():
        dep = _load_deployment(deployment)
        pub = _read_holder_pub(public_key)
        new = _resign_deployment(
            deployment,
            device_key,
            passphrase_file,
            lambda device: dep.with_holder_added(pub, device_key=device),
        )
    stdout.print(
        f"{deployment}: revision {new.revision}, added holder {pub.key_id} ({pub.label})", markup=False
    )
    if new.pins_audit_keys:
        stdout.print(f"  with audit key {pub.audit_key_id}: confirm both ids with the holder", markup=False)
    stdout.print(
        "  re-wrap existing bundles so the new holder can open them: recanon keys rewrap …", markup=False
    )


@holder_app.command("remove", no_args_is_help=True)
def holder_remove(
    key_id: Annotated[str, typer.Argument(help="Key id of the holder to remove (hk-…).", show_default=False)],
    deployment: DeploymentOpt,
    device_key: DeviceKeyOpt,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Remove a key holder from a deployment (a new signed revision, written in place).

    The removed holder can still open bundles already sealed to them: rotate those bundles
    (`recanon keys rewrap --rotate`) and delete the old copies.
    """
    with _errors():
        dep = _load_deployment(deployment)
        holder = dep.holder(key_id)
        if holder is None:
            known = ", ".join(f"{h.key_id} ({h.label})" for h in dep.holders) or "none"
            fail(f"{key_id} is not a holder of {deployment}", f"its holders: {known}")
        new = _resign_deployment(
            deployment,
            device_key,
            passphrase_file,
            lambda device: dep.with_holder_removed(key_id, device_key=device),
        )
    stdout.print(
        f"{deployment}: revision {new.revision}, removed holder {key_id} ({holder.label})", markup=False
    )
    stdout.print(
        "  rotate existing bundles to revoke their access: recanon keys rewrap --rotate …", markup=False
    )
