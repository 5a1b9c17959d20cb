"""Reading key and passphrase files from disk: bounded reads, and ssh's rule on permissions.

A private key file that other users may read (any group/other permission bit, e.g. mode 0644) is

* **refused** if it has no passphrase (``kdf: none``): whoever can read it has the key, exactly
  ssh's "UNPROTECTED PRIVATE KEY FILE" case. The published DEMO keys of ``examples/demo`` are the
  only exception (``PUBLIC_DEMO_KEY_IDS``): they are public on purpose, and a git checkout gives
  them mode 0644;
* **used with a warning** (``UnsafeKeyFileWarning``) if it is passphrase-protected: Argon2id still
  stands between a reader and the key, and key holders keep keys on removable media (FAT, exFAT)
  where permissions cannot be set; refusing would push them to weaker storage.

Passphrase files are read up to 4 KiB, one line (``--passphrase-file /dev/zero`` is refused, not
read forever).

>>> import os, tempfile
>>> from recanon_keys import generate_holder
>>> path = os.path.join(tempfile.mkdtemp(), "alice.key")
>>> with open(path, "wb") as fh:
...     _ = fh.write(generate_holder("alice").to_bytes(passphrase=None, unsafe_no_passphrase=True))
>>> os.chmod(path, 0o644)
>>> read_private_key_file(path, kind="holder-key")  # doctest: +ELLIPSIS
Traceback (most recent call last):
recanon_keys.errors.UnsafeKeyFile: ... has no passphrase and other users can read it (mode 0644)...
>>> os.chmod(path, 0o600)
>>> read_private_key_file(path, kind="holder-key").startswith(b'{"created"')
True
"""

from __future__ import annotations

import os
import stat
import warnings

from ._format.keyfile import KIND_DEVICE, KIND_HOLDER, MAX_KEY_FILE, read_private_info
from .errors import InvalidFormat, UnsafeKeyFile, UnsafeKeyFileWarning

__all__ = ["MAX_PASSPHRASE_FILE", "PUBLIC_DEMO_KEY_IDS", "read_passphrase_file", "read_private_key_file"]

#: The DEMO device and holder keys published in examples/demo (no passphrase, public on purpose).
PUBLIC_DEMO_KEY_IDS = frozenset({"dk-yzaq2goazm7pibyu", "hk-r4q5tizhwfi5rj62"})
MAX_PASSPHRASE_FILE = 4096


def read_private_key_file(path: str | os.PathLike[str], *, kind: str) -> bytes:
    """The bytes of the private key file at ``path`` (``kind``: ``"holder-key"`` or ``"device-key"``).

    Reads at most 4 KiB + 1 byte (a longer file is reported as too large by the loader) and checks
    the file's permissions on the open file (no race with a rename). Raises ``UnsafeKeyFile`` for a
    key without passphrase that others may read, warns ``UnsafeKeyFileWarning`` for a protected one,
    and ``InvalidFormat`` and subclasses for a file that is not such a key.
    """
    if kind not in (KIND_HOLDER, KIND_DEVICE):
        raise ValueError("kind must be 'holder-key' or 'device-key'")
    where = os.fspath(path)
    with open(path, "rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        data = fh.read(MAX_KEY_FILE + 1)
    loose = os.name == "posix" and stat.S_IMODE(mode) & 0o077
    if not loose:
        return data
    info = read_private_info(data, kind, what=where)
    shown = f"mode {stat.S_IMODE(mode):04o}"
    if not info.protected and info.key_id not in PUBLIC_DEMO_KEY_IDS:
        raise UnsafeKeyFile(
            f"{where} has no passphrase and other users can read it ({shown}), so it is not used",
            hint=f"run `chmod 600 {where}`; if anyone else could have read it, treat the key as leaked",
        )
    if info.protected:
        warnings.warn(
            UnsafeKeyFileWarning(
                f"{where} can be read by other users ({shown}); only its passphrase protects it "
                f"(run `chmod 600 {where}`)"
            ),
            stacklevel=2,
        )
    return data


def read_passphrase_file(path: str | os.PathLike[str]) -> str:
    """The passphrase in ``path``: one line of UTF-8, at most 4 KiB; a final newline is dropped.

    Raises ``InvalidFormat`` (one sentence) for an empty, oversized, multi-line or non-UTF-8 file.
    """
    where = os.fspath(path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_PASSPHRASE_FILE + 1)
    if len(data) > MAX_PASSPHRASE_FILE:
        raise InvalidFormat(
            f"the passphrase file {where} is longer than {MAX_PASSPHRASE_FILE} bytes: "
            "it should hold one line, the passphrase",
            hint="pass a file that holds only the passphrase",
        )
    text = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
    if b"\n" in text or b"\r" in text:
        raise InvalidFormat(
            f"the passphrase file {where} holds more than one line: it should hold only the passphrase"
        )
    try:
        passphrase = text.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFormat(f"the passphrase file {where} is not UTF-8 text") from None
    if not passphrase:
        raise InvalidFormat(f"the passphrase file {where} holds no passphrase")
    return passphrase
