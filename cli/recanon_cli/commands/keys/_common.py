"""What every ``recanon keys`` command shares: the Typer apps, options, error handling, key I/O.

Passphrases come from ``--passphrase-file`` (one line, at most 4 KiB), else ``$RECANON_PASSPHRASE``,
else a hidden prompt. Private key files are read with ssh's permission rule
(``recanon_keys.read_private_key_file``), written 0600, atomically; no output replaces an existing
file without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

from recanon_cli._app import RecanonGroup
from recanon_cli._console import fail, warn
from recanon_cli._lazy import lazy_module

rk = lazy_module("recanon_keys")  # loaded on first use: a command that signs nothing skips it

app = typer.Typer(
    name="keys",
    help=(
        "Key management: deployments, key holders, sealed model bundles.\n\n"
        "Examples:\n\n"
        "  recanon keys holder new --label alice --out alice.key    # → alice.key (0600) + alice.pub\n\n"
        "  recanon keys init --deployment lobby --holder alice.pub  # → lobby.deployment + device key\n\n"
        "  recanon keys seal gy.safetensors --deployment lobby.deployment --device-key lobby.device.key "
        "--model gy --model-version 1 --out gy.bundle\n\n"
        "  recanon keys inspect gy.bundle"
    ),
    no_args_is_help=True,
    cls=RecanonGroup,
)
holder_app = typer.Typer(
    name="holder",
    help="Key holders: create keys, add them to or remove them from a deployment.",
    no_args_is_help=True,
    cls=RecanonGroup,
)
app.add_typer(holder_app)

PASSPHRASE_ENV = "RECANON_PASSPHRASE"
T = TypeVar("T")

PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"Read the passphrase from this file: one line, at most 4 KiB (default: ${PASSPHRASE_ENV}, "
        "else a prompt).",
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
        help="The deployment's device key file, which signs (required).",
        show_default=False,
        dir_okay=False,
    ),
]
KeyOpt = Annotated[
    Path,
    typer.Option(
        "--key", "-k", help="Your holder private key file (required).", show_default=False, dir_okay=False
    ),
]
NoPassphrase = Annotated[
    bool,
    typer.Option(
        "--no-passphrase",
        help="Write the private key unprotected (default: off; protect it with a passphrase).",
    ),
]
AllowUnsigned = Annotated[
    bool,
    typer.Option(
        "--allow-unsigned",
        help="Also accept an old unsigned (v1) bundle, which anyone with the deployment file can forge "
        "(default: off; refused). Dangerous: only for bundles whose origin you know.",
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


@contextlib.contextmanager
def _warnings_shown(*categories: type[Warning]) -> Iterator[None]:
    """Print the library's warnings of ``categories`` as ``recanon: warning:`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        for category in categories:
            warnings.simplefilter("always", category)
        try:
            yield
        finally:
            for item in caught:
                if issubclass(item.category, categories):
                    warn(str(item.message))
                else:
                    warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _read(path: Path, *, limit: int = 1024 * 1024) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise rk.InvalidFormat(f"{path} is too large for this kind of file")
    return data


def _plain_name(name: str, what: str) -> str:
    """Refuse, before anything is written, a name that is not a plain file name (no ``/``, ``..``)."""
    try:
        return rk.check_plain_name(name, what=what)
    except ValueError as exc:
        fail(str(exc), "names also name files, so they cannot hold a path")


def _passphrase(passphrase_file: Path | None, *, what: str, new: bool) -> str:
    if passphrase_file is not None:
        try:
            return rk.read_passphrase_file(passphrase_file)
        except rk.RecanonKeysError as exc:
            _error(exc)
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


def _load_private(path: Path, passphrase_file: Path | None, kind: str, loader: Callable[..., T]) -> T:
    """Read (bounded, permissions checked) and open a private key file, asking for its passphrase."""
    with _warnings_shown(rk.UnsafeKeyFileWarning):
        data = rk.read_private_key_file(path, kind=kind)
    protected = rk.read_key_file_info(data, kind=kind, what=str(path)).protected
    passphrase = _passphrase(passphrase_file, what=str(path), new=False) if protected else None
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


def _read_holder_pub(path: Path) -> rk.HolderPublicKey:
    return rk.HolderPublicKey.from_bytes(_read(path, limit=64 * 1024), what=str(path))


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
