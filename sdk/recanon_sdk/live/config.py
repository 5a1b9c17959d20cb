"""The cameras of ``recanon watch``, from a TOML file.

A literal example::

    [defaults]                 # optional: applies to every camera that does not say otherwise
    enhancer = "pixelate"

    [[camera]]
    name = "entrance"          # folder and file names of its segments: letters, digits, . _ -
    url = "rtsp://viewer:secret@10.0.0.5:554/stream1"

    [[camera]]
    name = "till-2"
    url = "rtsp://10.0.0.6/live"
    enhancer = "gx"
    deployment = "shop.deployment"
    device_key = "till-2.device.key"
    passphrase_file = "till-2.pass"   # or $RECANON_PASSPHRASE
    seal_originals = true

Relative paths are relative to the TOML file. A camera's URL (with its credentials) is kept only in
memory: whatever is shown or stored uses :func:`~recanon_sdk.names.redact_url`, and
:class:`CameraConfig`'s ``repr`` leaves it out.

>>> cams = parse_cameras('[[camera]]\\nname = "a"\\nurl = "rtsp://u:pw@h/s"\\n', Path("."))
>>> cams[0]
CameraConfig(name='a', shown_url='rtsp://h/s', enhancer='blur', strength=None, deployment=None, \
device_key=None, passphrase_file=None, seal_originals=False)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recanon_sdk.errors import InputError
from recanon_sdk.names import redact_url
from recanon_sdk.video.reader import is_stream_url

#: At most this many bytes of TOML are read.
MAX_CONFIG_BYTES = 1 << 20
MAX_CAMERAS = 1000
ENHANCERS = ("blur", "pixelate", "mask", "ellipse", "skeleton", "gx")
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_KEYS = {
    "name",
    "url",
    "enhancer",
    "strength",
    "deployment",
    "device_key",
    "passphrase_file",
    "seal_originals",
}


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera: where to read it and how to anonymize and sign its segments."""

    name: str
    url: str = field(repr=False)
    shown_url: str = ""
    enhancer: str = "blur"
    strength: float | None = None
    deployment: Path | None = None
    device_key: Path | None = None
    passphrase_file: Path | None = None
    seal_originals: bool = False

    @property
    def signed(self) -> bool:
        return self.deployment is not None and self.device_key is not None


def load_cameras(path: str | Path) -> list[CameraConfig]:
    """The cameras listed in the TOML file at ``path`` (:class:`InputError` with one sentence if not)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"camera list '{path}' does not exist", hint="check the path") from None
    except OSError as error:
        raise InputError(f"cannot read camera list '{path}': {error.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"camera list '{path}' is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"camera list '{path}' is not UTF-8 text") from None
    return parse_cameras(text, path.parent, where=str(path))


def parse_cameras(text: str, base: Path, *, where: str = "the camera list") -> list[CameraConfig]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The decoder's message names a line and column, never the values.
        raise InputError(
            f"{where} is not valid TOML: {error}", hint="see docs/scale.md for the format"
        ) from None
    unknown = set(document) - {"camera", "defaults"}
    if unknown:
        raise InputError(
            f"{where}: unknown table(s) {', '.join(sorted(unknown))}", hint="use [defaults] and [[camera]]"
        )
    defaults = document.get("defaults", {})
    cameras = document.get("camera", [])
    if not isinstance(defaults, dict) or not isinstance(cameras, list):
        raise InputError(f"{where}: [defaults] must be a table and cameras a [[camera]] list")
    if not cameras:
        raise InputError(
            f"{where} lists no camera", hint='add [[camera]] tables with name = "..." and url = "..."'
        )
    if len(cameras) > MAX_CAMERAS:
        raise InputError(f"{where} lists {len(cameras)} cameras; at most {MAX_CAMERAS} per watch")
    out: list[CameraConfig] = []
    names: set[str] = set()
    for number, entry in enumerate(cameras, 1):
        if not isinstance(entry, dict):
            raise InputError(f"{where}: camera {number} is not a table")
        merged = {**defaults, **entry}
        camera = _camera(merged, number, base, where)
        if camera.name.casefold() in names:
            raise InputError(
                f"{where}: two cameras are named {camera.name!r}", hint="give each a unique name"
            )
        names.add(camera.name.casefold())
        out.append(camera)
    return out


def _camera(entry: dict[str, Any], number: int, base: Path, where: str) -> CameraConfig:
    label = f"{where}: camera {number}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise InputError(
            f"{label} has unknown key(s) {', '.join(sorted(unknown))}",
            hint=f"keys: {', '.join(sorted(_KEYS))}",
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"{label} needs a name of 1 to 64 letters, digits, '.', '_' or '-' (not starting with '.')",
            hint="the name becomes the folder and file names of its segments",
        )
    label = f"{where}: camera {name!r}"
    url = entry.get("url")
    if not isinstance(url, str) or not is_stream_url(url):
        # The value is not echoed: a URL missing its scheme ("admin:pw@10.0.0.5/live") is not redacted.
        raise InputError(
            f"{label} needs a stream url that starts with rtsp://, rtsps://, http://, https://, …",
            hint="check the url of that camera (it is not shown here, since it may hold credentials)",
        )
    enhancer = entry.get("enhancer", "blur")
    if enhancer not in ENHANCERS:
        raise InputError(f"{label}: enhancer must be one of {', '.join(ENHANCERS)}, got {enhancer!r}")
    strength = entry.get("strength")
    if strength is not None and (not isinstance(strength, int | float) or not 0.001 <= strength <= 1.0):
        raise InputError(f"{label}: strength must be a number from 0.001 to 1")
    paths = {}
    for key in ("deployment", "device_key", "passphrase_file"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{label}: {key} must be a path (text)")
        paths[key] = None if value is None else (base / value)
    seal = entry.get("seal_originals", False)
    if not isinstance(seal, bool):
        raise InputError(f"{label}: seal_originals must be true or false")
    if (paths["deployment"] is None) != (paths["device_key"] is None) and not (
        seal and paths["device_key"] is None
    ):
        raise InputError(
            f"{label}: signing needs both deployment and device_key", hint="give both, or neither"
        )
    if seal and paths["deployment"] is None:
        raise InputError(f"{label}: seal_originals needs a deployment (the holders to seal them to)")
    if enhancer == "gx" and paths["device_key"] is None:
        raise InputError(
            f"{label}: enhancer gx needs deployment and device_key", hint="GX is keyed per deployment"
        )
    return CameraConfig(
        name=name,
        url=url,
        shown_url=redact_url(url),
        enhancer=enhancer,
        strength=None if strength is None else float(strength),
        deployment=paths["deployment"],
        device_key=paths["device_key"],
        passphrase_file=paths["passphrase_file"],
        seal_originals=seal,
    )
