"""``recanon keys …``: deployments, key holders, sealed model bundles. Thin layer over ``recanon_keys``.

Passphrases come from ``--passphrase-file``, else ``$RECANON_PASSPHRASE``, else a hidden prompt.
Private keys are written 0600, atomically; no output replaces an existing file without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import recanon_keys as rk
import typer

from recanon_cli._console import fail, stdout, warn

app = typer.Typer(
    name="keys",
    help=(
        "Key management: deployments, key holders, sealed model bundles.\n\n"
        "Examples:\n\n"
        "  recanon keys holder new --label alice --out alice.key    # → alice.key (0600) + alice.pub\n\n"
        "  recanon keys init --deployment lobby --holder alice.pub  # → lobby.deployment + device key\n\n"
        "  recanon keys seal gy.safetensors --deployment lobby.deployment --model gy --model-version 1 "
        "--out gy.bundle\n\n"
        "  recanon keys inspect gy.bundle"
    ),
    no_args_is_help=True,
)
holder_app = typer.Typer(
    name="holder",
    help="Key holders: create keys, add them to or remove them from a deployment.",
    no_args_is_help=True,
)
app.add_typer(holder_app)

PASSPHRASE_ENV = "RECANON_PASSPHRASE"
T = TypeVar("T")

PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"Read the passphrase from this file's first line (default: ${PASSPHRASE_ENV}, else a prompt).",
        show_default=False,
        dir_okay=False,
    ),
]
DeploymentOpt = Annotated[
    Path,
    typer.Option(
        "--deployment",
        "-d",
        help="The deployment file (required; no default).",
        show_default=False,
        dir_okay=False,
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output file (default: off).")
]
DeviceKeyOpt = Annotated[
    Path,
    typer.Option(
        "--device-key",
        help="The deployment's device key file, which re-signs it (required).",
        show_default=False,
        dir_okay=False,
    ),
]


def _new_key_kdf() -> tuple[rk.Argon2idParams, bool]:
    """Argon2id cost for new private key files: (parameters, unsafe_weak_kdf). Tests monkeypatch this."""
    return rk.DEFAULT_KDF_PARAMS, False


def _error(exc: rk.RecanonKeysError) -> NoReturn:
    fail(exc.message, *([exc.hint] if exc.hint else []))


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn every expected failure into one ``recanon: error:`` sentence (never a traceback)."""
    try:
        yield
    except rk.RecanonKeysError as exc:
        _error(exc)
    except FileExistsError as exc:
        fail(
            str(exc) if exc.filename is None else f"{exc.filename} already exists",
            "pass --overwrite to replace it",
        )
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: no such file")
    except IsADirectoryError as exc:
        fail(f"{exc.filename} is a folder, not a file")
    except PermissionError as exc:
        fail(f"{exc.filename}: permission denied")
    except OSError as exc:
        fail(f"{exc.filename or 'file'}: {exc.strerror}")
    except ValueError as exc:
        fail(str(exc))


def _read(path: Path, *, limit: int = 1024 * 1024) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise rk.InvalidFormat(f"{path} is too large for this kind of file")
    return data


def _passphrase(passphrase_file: Path | None, *, what: str, new: bool) -> str:
    if passphrase_file is not None:
        text = passphrase_file.read_text(encoding="utf-8").splitlines()
        if not text or not text[0]:
            fail(f"{passphrase_file} holds no passphrase on its first line")
        return text[0]
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    try:
        value: str = typer.prompt(
            f"New passphrase for {what}" if new else f"Passphrase for {what}",
            hide_input=True,
            confirmation_prompt=new,
        )
    except typer.Abort:
        fail(
            f"no passphrase for {what}",
            f"type it when asked, or use --passphrase-file or ${PASSPHRASE_ENV}",
            "--no-passphrase writes an unprotected key (only when you really mean it)" if new else "",
        )
    if not value:
        fail("the passphrase is empty")
    return value


def _needs_passphrase(data: bytes, kind: str, path: Path) -> bool:
    return rk.read_key_file_info(data, kind=kind, what=str(path)).protected


def _load_private(path: Path, passphrase_file: Path | None, kind: str, loader: Callable[..., T]) -> T:
    data = _read(path, limit=64 * 1024)
    passphrase = (
        _passphrase(passphrase_file, what=str(path), new=False)
        if _needs_passphrase(data, kind, path)
        else None
    )
    return loader(data, passphrase=passphrase, what=str(path))


def _load_deployment(path: Path) -> rk.Deployment:
    return rk.load_deployment(_read(path), what=str(path))


def _save_private(
    path: Path,
    key: rk.HolderKey | rk.DeviceKey,
    *,
    no_passphrase: bool,
    passphrase_file: Path | None,
    overwrite: bool,
) -> None:
    if not overwrite and path.exists():
        raise FileExistsError(None, None, str(path))
    if no_passphrase:
        warn(f"{path} is written WITHOUT a passphrase: anyone who can read it has the key")
        rk.save_private_key(path, key, passphrase=None, unsafe_no_passphrase=True, overwrite=overwrite)
        return
    params, weak = _new_key_kdf()
    passphrase = _passphrase(passphrase_file, what=str(path), new=True)
    rk.save_private_key(
        path, key, passphrase=passphrase, overwrite=overwrite, kdf_params=params, unsafe_weak_kdf=weak
    )


def _write_public(path: Path, data: bytes, *, overwrite: bool) -> None:
    from recanon_keys._atomic import write_atomic

    write_atomic(path, data, mode=0o644, overwrite=overwrite)


def _resign_deployment(
    deployment: Path,
    device_key: Path,
    passphrase_file: Path | None,
    change: Callable[[rk.DeviceKey], rk.Deployment],
) -> rk.Deployment:
    """Load the device key, apply ``change`` (which re-signs with it), and write the result in place.

    ``change`` gets the loaded device key and returns the new deployment revision; that revision is
    written over ``deployment`` atomically and returned.
    """
    device = _load_private(device_key, passphrase_file, "device-key", rk.load_device_key)
    new = change(device)
    _write_public(deployment, new.to_bytes(), overwrite=True)
    return new


NoPassphrase = Annotated[
    bool,
    typer.Option(
        "--no-passphrase",
        help="Write the private key unprotected (default: off; protect it with a passphrase).",
    ),
]


@holder_app.command("new", no_args_is_help=True)
def holder_new(
    label: Annotated[
        str,
        typer.Option(
            "--label", help="Name shown next to the key id, e.g. alice (required).", show_default=False
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
    pub_path = out.with_suffix(".pub") if out.suffix == ".key" else out.with_name(out.name + ".pub")
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
        pub = rk.HolderPublicKey.from_bytes(_read(public_key, limit=64 * 1024), what=str(public_key))
        new = _resign_deployment(
            deployment,
            device_key,
            passphrase_file,
            lambda device: dep.with_holder_added(pub, device_key=device),
        )
    stdout.print(
        f"{deployment}: revision {new.revision}, added holder {pub.key_id} ({pub.label})", markup=False
    )
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


@app.command("init", no_args_is_help=True)
def init(
    name: Annotated[
        str,
        typer.Option(
            "--deployment", help="Name of the new deployment, e.g. lobby (required).", show_default=False
        ),
    ],
    holders: Annotated[
        list[Path] | None,
        typer.Option(
            "--holder",
            help="A holder's public key file; repeat for several (default: none, add them later).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
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
    dep_path, key_path = out_dir / f"{name}.deployment", out_dir / f"{name}.device.key"
    with _errors():
        for path in (dep_path, key_path):
            if path.exists() and not overwrite:
                raise FileExistsError(None, None, str(path))
        pubs = [rk.HolderPublicKey.from_bytes(_read(p, limit=64 * 1024), what=str(p)) for p in holders or []]
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
        stdout.print(f"  holder           {h.key_id} ({h.label})", markup=False)
    stdout.print(
        "  investigators should confirm the deployment id and device key id out of band", markup=False
    )


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
    stdout.print(f"{path}: {info.title}", markup=False)
    width = max((len(name) for name, _ in info.fields), default=0)
    for name, value in info.fields:
        stdout.print(f"  {name.ljust(width)}  {value}", markup=False)
    for note in info.notes:
        stdout.print(f"  note: {note}", markup=False, style="dim")


@app.command("seal", no_args_is_help=True)
def seal(
    source: Annotated[
        Path, typer.Argument(help="The file to seal, e.g. GY weights.", show_default=False, dir_okay=False)
    ],
    deployment: DeploymentOpt,
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
    overwrite: Overwrite = False,
) -> None:
    """Seal a file to every key holder of a deployment. The plaintext is not deleted: do that yourself.

    Example: recanon keys seal gy.safetensors -d lobby.deployment --model gy --model-version 1
    """
    out = out or source.with_name(source.name + ".sealed")
    with _errors():
        dep = _load_deployment(deployment)
        info = rk.seal_file(
            source, out, deployment=dep, model_name=model, model_version=model_version, overwrite=overwrite
        )
    stdout.print(
        f"{out}: {info.model_name} {info.model_version}, {info.size} bytes, sha256 {info.sha256}",
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

    The secret is derived from the device key (the device derives the same one for GX), so run this
    where the device key is. Holders open the bundle with `recanon recover --bundle`.

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
        from recanon_sdk.models.sealed import seal_gy as seal_gy_bundle
        from recanon_sdk.models.weights import load_model

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
            input_size=tuple(meta.get("input_size") or (128, 64)),
            kwargs=meta.get("kwargs") or {},
        )
        write_atomic(out, bundle, mode=0o644, overwrite=overwrite)
    stdout.print(
        f"{out}: GY {meta['arch']} and the model secret of {dep.name!r}, {len(bundle)} bytes", markup=False
    )
    for holder in dep.holders:
        stdout.print(f"  sealed to {holder.key_id} ({holder.label})", markup=False)


KeyOpt = Annotated[
    Path,
    typer.Option(
        "--key", "-k", help="Your holder private key file (required).", show_default=False, dir_okay=False
    ),
]


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
    passphrase_file: PassphraseFile = None,
) -> None:
    """Check that your key opens a bundle: decrypts it in memory and prints its SHA-256. Writes nothing.

    Example: recanon keys open gy.bundle --key alice.key -d lobby.deployment
    """
    import hashlib

    with _errors():
        dep = _load_deployment(deployment)
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
        data = rk.open_sealed(bundle, holder, deployment=dep, model_name=model, model_version=model_version)
        info = rk.read_bundle_info(bundle)
    stdout.print(
        f"{bundle}: opens with {holder.key_id} ({holder.label}); {info.model_name} {info.model_version}, "
        f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()} (verified)",
        markup=False,
    )


@app.command("rewrap", no_args_is_help=True)
def rewrap(
    bundle: Annotated[Path, typer.Argument(help="The sealed bundle.", show_default=False, dir_okay=False)],
    key: KeyOpt,
    deployment: DeploymentOpt,
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
    passphrase_file: PassphraseFile = None,
    overwrite: Overwrite = False,
) -> None:
    """Re-seal a bundle to the deployment's current holders (you must be able to open it).

    Example: recanon keys rewrap gy.bundle --key alice.key -d lobby.deployment --out gy.v2.bundle --rotate
    """
    with _errors():
        dep = _load_deployment(deployment)
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
        op = rk.rotate_file if rotate else rk.rewrap_file
        info = op(bundle, out, holder, deployment=dep, overwrite=overwrite)
    stdout.print(
        f"{out}: {'rotated (fresh data key)' if rotate else 're-wrapped (same payload)'}, "
        f"sealed to {', '.join(info.recipients)}",
        markup=False,
    )
