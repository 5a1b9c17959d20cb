"""Names that recanon shows or stores: stream URLs without credentials, file names that are safe text.

Camera URLs often carry credentials (``rtsp://admin:secret@10.0.0.5/stream``,
``https://cam/feed?token=…``). Whatever recanon prints or writes — sidecars, manifests, error
messages, logs — goes through :func:`redact_url`, so credentials never leave the process.

File names may hold bytes that are not UTF-8 or control characters (a TAB); :func:`display_name`
turns them into text that can be written to a UTF-8 sidecar, and :func:`unprintable_reason` says why a
name cannot be recorded in a signed manifest (which holds printable names only).

>>> redact_url("rtsp://admin:s3cret@10.0.0.5:554/live?channel=1&token=abc")
'rtsp://10.0.0.5:554/live?channel=1&token=REDACTED'
>>> display_name("walk.mp4")
'walk.mp4'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters whose values are secrets (matched case-insensitively as substrings of the key).
SECRET_QUERY_KEYS = (
    "token",
    "key",
    "pass",
    "pwd",
    "secret",
    "auth",
    "sig",
    "session",
    "credential",
    "user",
    "login",
)
REDACTED = "REDACTED"


def redact_url(text: str | os.PathLike[str]) -> str:
    """``text`` without user:password@ and without the values of secret-looking query parameters.

    Anything that is not a URL with a scheme is returned unchanged (as text).

    >>> redact_url("http://user@cam.local/mjpeg")
    'http://cam.local/mjpeg'
    >>> redact_url("https://cam/feed?X-Amz-Signature=f00&size=hd")
    'https://cam/feed?X-Amz-Signature=REDACTED&size=hd'
    >>> redact_url("clips/walk.mp4")
    'clips/walk.mp4'
    """
    value = os.fspath(text) if isinstance(text, os.PathLike) else str(text)
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:  # an unparsable URL: keep only the scheme
        return value.split("://", 1)[0] + "://" + REDACTED
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if _is_secret(k) else v) for k, v in pairs], safe="/:,")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_QUERY_KEYS)


def display_name(name: str | os.PathLike[str]) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 become U+FFFD (the name on disk is kept).

    >>> display_name(os.fsdecode(b"caf\\xe9.mp4"))
    'caf\\ufffd.mp4'
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def unprintable_reason(name: str | os.PathLike[str]) -> str | None:
    """Why ``name`` (a file's last path component) cannot be recorded as a printable name, or ``None``.

    >>> unprintable_reason("walk.mp4") is None
    True
    >>> unprintable_reason("a\\tb.mp4")
    'it contains a control character (U+0009)'
    """
    text = Path(name).name if isinstance(name, os.PathLike) else Path(str(name)).name
    if display_name(text) != text:
        return "it is not valid UTF-8"
    match = _CONTROL.search(text)
    if match:
        return f"it contains a control character (U+{ord(match.group()):04X})"
    if not text.isprintable():
        return "it contains a character that cannot be printed"
    if len(text) > 255:
        return "it is longer than 255 characters"
    return None
