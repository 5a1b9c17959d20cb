"""Shared encodings: canonical JSON documents, strict base64/hex, key ids, timestamps, field checks.

Every recanon text file (and the header line of a bundle) is ONE canonical JSON object on one line:
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\\n"``. A parser
re-encodes what it read and rejects anything that differs, so there is exactly one valid encoding of
each document and a flipped byte can never yield an equivalent file.

>>> canonical({"b": 1, "a": "é"})
b'{"a":"\\\\u00e9","b":1}'
>>> parse_document(b'{"format":"recanon-manifest/v9"}\\n', kind="manifest", max_size=100, what="x")
Traceback (most recent call last):
recanon_keys.errors.UnsupportedVersion: x uses format recanon-manifest/v9, this recanon supports only ...
>>> key_id("hk", b"recanon/v1/key-id/holder", bytes(32))
'hk-h2lnau2sbqjefvpt'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidFormat, Truncated, UnsupportedVersion, WrongFileType

Rng = Callable[[int], bytes]

FORMAT_RE = re.compile(r"recanon-([a-z0-9-]{1,32})/v([0-9]{1,6})")
KNOWN_KINDS = (
    "holder-key",
    "device-key",
    "holder-pub",
    "deployment",
    "bundle",
    "stream",
    "sidecar-sig",
    "manifest",
    "audit",
)
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_KEY_ID_RE = re.compile(r"[a-z]{2}-[a-z2-7]{16}")


def canonical(obj: Any) -> bytes:
    """The one canonical encoding of a JSON value (no trailing newline)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def document(obj: dict[str, Any]) -> bytes:
    """A canonical one-line document: ``canonical(obj) + b"\\n"``."""
    return canonical(obj) + b"\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text[:20]!r}")


def parse_line(line: bytes, *, what: str) -> dict[str, Any]:
    """Parse one canonical JSON object (``line`` without its newline). Raises ``InvalidFormat``."""
    try:
        text = line.decode("ascii")
        obj = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidFormat(f"{what} is not a recanon file (not a one-line JSON object)") from exc
    if not isinstance(obj, dict):
        raise InvalidFormat(f"{what} is not a recanon file (not a JSON object)")
    return obj


def ensure_canonical(obj: dict[str, Any], line: bytes, *, what: str) -> None:
    if canonical(obj) != line:
        raise InvalidFormat(
            f"{what} is not in canonical form (was it edited by hand?)",
            hint="recanon files must be byte-exact; restore the original file",
        )


def parse_document(
    data: bytes, *, kind: str, max_size: int, what: str, versions: tuple[int, ...] = (1,)
) -> dict[str, Any]:
    """Parse a whole one-line document file of ``kind`` (canonical JSON + ``\\n``), with precise errors.

    The first line's ``format`` is checked first, so a file of another kind or version is named as such.
    ``versions`` lists the format versions the caller reads.
    """
    if not data:
        raise Truncated(f"{what} is empty")
    end = data.find(b"\n", 0, max_size + 1)
    if end < 0:
        if len(data) > max_size:
            raise InvalidFormat(f"{what} is too large (at most {max_size} bytes)")
        try:
            obj = parse_line(data, what=what)
        except InvalidFormat:
            if data.startswith(b'{"'):
                raise Truncated(f"{what} is truncated (it ends in the middle)") from None
            raise
        check_format(obj, kind, what=what, versions=versions)
        raise Truncated(f"{what} ends without its final newline (truncated?)")
    first = data[:end]
    obj = parse_line(first, what=what)
    check_format(obj, kind, what=what, versions=versions)
    if len(data) > max_size:
        raise InvalidFormat(f"{what} is too large ({len(data)} bytes, at most {max_size})")
    if len(data) != end + 1:
        raise InvalidFormat(f"{what} has data after its first line")
    ensure_canonical(obj, first, what=what)
    return obj


def check_format(
    obj: dict[str, Any], kind: str, *, what: str, version: int = 1, versions: tuple[int, ...] | None = None
) -> int:
    """Check ``obj["format"] == "recanon-<kind>/v<N>"`` for ``N`` in ``versions`` (default: ``version``).

    Returns ``N``; raises ``InvalidFormat``, ``WrongFileType`` or ``UnsupportedVersion``.
    """
    accepted = versions or (version,)
    fmt = obj.get("format")
    match = FORMAT_RE.fullmatch(fmt) if isinstance(fmt, str) else None
    if match is None or match.group(1) not in KNOWN_KINDS:
        raise InvalidFormat(f'{what} is not a recanon file (no known "format" field)')
    found_kind, found_version = match.group(1), int(match.group(2))
    if found_kind != kind:
        raise WrongFileType(
            f"{what} is a recanon {found_kind.replace('-', ' ')} file, not a {kind.replace('-', ' ')} file",
            hint="check the order of the arguments",
        )
    if found_version not in accepted:
        supported = " and ".join(f"recanon-{kind}/v{v}" for v in accepted)
        raise UnsupportedVersion(
            f"{what} uses format {fmt}, this recanon supports only {supported}",
            hint="upgrade recanon to read this file",
        )
    return found_version


def file_kind(obj: dict[str, Any]) -> tuple[str, int] | None:
    fmt = obj.get("format")
    match = FORMAT_RE.fullmatch(fmt) if isinstance(fmt, str) else None
    if match is None or match.group(1) not in KNOWN_KINDS:
        return None
    return match.group(1), int(match.group(2))


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str, *, what: str, length: int | None = None, max_length: int | None = None) -> bytes:
    """Strict, canonical standard base64 (padding required, no whitespace, no stray bits)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidFormat(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidFormat(f"{what} is not canonical base64")
    if length is not None and len(raw) != length:
        raise InvalidFormat(f"{what} must be {length} bytes, found {len(raw)}")
    if max_length is not None and len(raw) > max_length:
        raise InvalidFormat(f"{what} is too long ({len(raw)} bytes, at most {max_length})")
    return raw


def key_id(prefix: str, domain: bytes, public_key: bytes) -> str:
    """``prefix-`` + lowercase unpadded base32 of ``SHA-256(domain || 0x00 || public_key)[:10]``."""
    digest = hashlib.sha256(domain + b"\x00" + public_key).digest()[:10]
    return prefix + "-" + base64.b32encode(digest).decode("ascii").lower()


def format_time(dt: datetime) -> str:
    """UTC, second precision: ``2025-01-31T12:00:00Z``."""
    if dt.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(text: str, *, what: str) -> datetime:
    if not _TIME_RE.fullmatch(text):
        raise InvalidFormat(f"{what} is not a UTC timestamp like 2025-01-31T12:00:00Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidFormat(f"{what} is not a valid date") from exc


def check_label(label: str, *, what: str = "label", max_len: int = 64) -> str:
    """A human label: 1..max_len printable characters. Raises ``ValueError`` (caller input)."""
    if not isinstance(label, str):
        raise TypeError(f"{what} must be a str")
    if not (1 <= len(label) <= max_len) or not label.isprintable():
        raise ValueError(f"{what} must be 1 to {max_len} printable characters")
    return label


_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def check_plain_name(name: str, *, what: str) -> str:
    """A name that also names files: 1-64 letters, digits, ``-``, ``_``, ``.``, not starting with ``.``.

    Raises ``ValueError`` in one sentence (no path separator, no ``..``, nothing hidden).

    >>> check_plain_name("lobby-2", what="deployment name")
    'lobby-2'
    >>> check_plain_name("../trav", what="deployment name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: deployment name '../trav' is not a plain name: use 1 to 64 letters, digits, ...
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str")
    if not _PLAIN_NAME_RE.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} is not a plain name: use 1 to 64 letters, digits, '-', '_' or '.', "
            "not starting with '.'"
        )
    return name


class Fields:
    """Strict reader of a parsed JSON object: typed getters, then ``done()`` rejects unknown keys."""

    def __init__(self, obj: Any, what: str) -> None:
        if not isinstance(obj, dict):
            raise InvalidFormat(f"{what} must be a JSON object")
        self.obj = obj
        self.what = what
        self.seen: set[str] = set()

    def _get(self, key: str) -> Any:
        if key not in self.obj:
            raise InvalidFormat(f"{self.what} lacks the field {key!r}")
        self.seen.add(key)
        return self.obj[key]

    def has(self, key: str) -> bool:
        return key in self.obj

    def str(self, key: str, *, max_len: int = 256, pattern: re.Pattern[str] | None = None) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not (1 <= len(value) <= max_len) or not value.isprintable():
            raise InvalidFormat(
                f"{self.what}: {key!r} must be a string of 1 to {max_len} printable characters"
            )
        if pattern is not None and not pattern.fullmatch(value):
            raise InvalidFormat(f"{self.what}: {key!r} is malformed")
        return value

    def const(self, key: str, expected: str) -> str:
        value = self._get(key)
        if value != expected:
            raise InvalidFormat(f"{self.what}: {key!r} must be {expected!r}")
        return expected

    def int(self, key: str, lo: int, hi: int) -> int:
        value = self._get(key)
        if type(value) is not int or not (lo <= value <= hi):
            raise InvalidFormat(f"{self.what}: {key!r} must be an integer from {lo} to {hi}")
        return value

    def bool(self, key: str) -> bool:
        value = self._get(key)
        if type(value) is not bool:
            raise InvalidFormat(f"{self.what}: {key!r} must be true or false")
        return value

    def b64(self, key: str, *, length: int | None = None, max_length: int | None = None) -> bytes:
        value = self._get(key)
        if not isinstance(value, str):
            raise InvalidFormat(f"{self.what}: {key!r} must be a base64 string")
        return b64d(value, what=f"{self.what}: {key!r}", length=length, max_length=max_length)

    def hex(self, key: str, *, length: int) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not re.fullmatch(f"[0-9a-f]{{{2 * length}}}", value):
            raise InvalidFormat(f"{self.what}: {key!r} must be {2 * length} lowercase hex digits")
        return value

    def key_id(self, key: str, prefix: str) -> str:
        value = self.str(key, max_len=19, pattern=_KEY_ID_RE)
        if not value.startswith(prefix + "-"):
            raise InvalidFormat(f"{self.what}: {key!r} must be a {prefix}- key id")
        return value

    def time(self, key: str) -> datetime:
        return parse_time(self.str(key, max_len=20), what=f"{self.what}: {key!r}")

    def obj_(self, key: str) -> Fields:
        return Fields(self._get(key), f"{self.what}.{key}")

    def list(self, key: str, *, min_len: int, max_len: int) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list) or not (min_len <= len(value) <= max_len):
            raise InvalidFormat(f"{self.what}: {key!r} must be a list of {min_len} to {max_len} items")
        return value

    def done(self) -> None:
        extra = sorted(set(self.obj) - self.seen)
        if extra:
            raise InvalidFormat(f"{self.what} has unknown field(s): {', '.join(map(repr, extra[:5]))}")
