"""Sealed streams: records encrypted as they are produced, so that only a deployment's holders read them.

A device that anonymizes video can also keep the *original* pixels of every anonymized region for
exact recovery, without being able to read them afterwards: it seals them to the holders' public
keys (it holds no private key) record by record. The data key lives only in the writer's memory for
the duration of one run; once the stream is closed, a stolen device cannot open it.

Format ``recanon-stream/v1`` (docs/key-formats.md): the bundle's envelope (fresh data key wrapped to
each holder's X25519 key, header MAC under the data key) followed by length-prefixed
ChaCha20-Poly1305 records with a counter nonce and an empty final record that carries the last-flag.
Reading releases each record only after its tag verified; a stream that was cut short raises
``Truncated`` when the reader reaches the cut, after the records before it.

>>> import io
>>> from recanon_keys import create_deployment, generate_device_key, generate_holder
>>> alice = generate_holder("alice")
>>> dep = create_deployment("lobby", device_key=generate_device_key("cam"), holders=[alice.public])
>>> buf = io.BytesIO()
>>> with SealedStreamWriter(buf, deployment=dep, content="example/text") as writer:
...     writer.append(b"first record")
...     writer.append(b"second record")
>>> reader = open_stream(buf.getvalue(), alice, deployment=dep, content="example/text")
>>> list(reader.records())
[b'first record', b'second record']
>>> reader.info.run_id == writer.run_id
True
"""

from __future__ import annotations

import hmac
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ._bundle_io import read_exact as _read_exact
from ._format import bundle as _bundle
from ._format import sealed_stream as fmt
from ._format.encoding import Rng, now_utc
from ._format.stream import nonce
from .deployments import Deployment
from .errors import AuthenticationFailed, InvalidFormat, Truncated, WrongDeployment, WrongKey, WrongModel
from .identities import HolderKey

__all__ = ["SealedStreamReader", "SealedStreamWriter", "StreamInfo", "open_stream", "read_stream_info"]

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True)
class StreamInfo:
    """The public header of a sealed stream (authenticated only once a holder opened it)."""

    format: str
    deployment_id: str
    content: str
    meta: dict[str, Any]
    run_id: bytes
    created: datetime
    recipients: tuple[str, ...]


def _info(h: fmt.StreamHeader) -> StreamInfo:
    return StreamInfo(
        "recanon-stream/v1", h.deployment_id, h.content, h.meta, h.run_id, h.created, h.recipient_ids()
    )


class SealedStreamWriter:
    """Writes a ``recanon-stream/v1`` stream to ``dst`` (a binary file object), one record per ``append``.

    The header is written at once; every record is encrypted and written immediately (nothing is
    buffered beyond one record). :meth:`close` writes the final record; a writer left by an exception
    inside ``with`` does *not*, so a reader reports the stream as truncated. ``dst`` is not closed.
    """

    def __init__(
        self,
        dst: BinaryIO,
        *,
        deployment: Deployment,
        content: str,
        meta: dict[str, Any] | None = None,
        run_id: bytes | None = None,
        rng: Rng = os.urandom,
        now: datetime | None = None,
    ) -> None:
        if not isinstance(deployment, Deployment):
            raise TypeError("deployment must be a Deployment (see load_deployment)")
        if len(deployment.holders) < deployment.policy.min_holders:
            raise ValueError(
                f"deployment {deployment.name!r} has {len(deployment.holders)} holder(s); its policy asks "
                f"for at least {deployment.policy.min_holders} (add holders with `recanon keys holder add`)"
            )
        fmt.check_content(content)
        meta = fmt.check_meta(dict(meta or {}))
        if run_id is not None and len(run_id) != fmt.RUN_ID_SIZE:
            raise ValueError(f"run_id must be {fmt.RUN_ID_SIZE} bytes")
        self.run_id: bytes = run_id if run_id is not None else rng(fmt.RUN_ID_SIZE)
        data_key, salt = rng(32), rng(_bundle.SALT_SIZE)
        recipients = tuple(
            _bundle.wrap(data_key, h.key_id, h.public_key, rng, info=fmt.INFO_WRAP)
            for h in deployment.holders
        )
        line = fmt.encode_header_line(
            deployment_id=deployment.deployment_id,
            content=content,
            meta=meta,
            run_id=self.run_id,
            created=now or now_utc(),
            payload_salt=salt,
            recipients=recipients,
        )
        self._aead: ChaCha20Poly1305 | None = ChaCha20Poly1305(fmt.payload_key(data_key, salt))
        self._dst = dst
        self._counter = 0
        self.bytes_written = 0
        self._write(line + fmt.header_mac(data_key, line))
        del data_key

    @property
    def records_written(self) -> int:
        return self._counter

    @property
    def closed(self) -> bool:
        return self._aead is None

    def _write(self, data: bytes) -> None:
        self._dst.write(data)
        self.bytes_written += len(data)

    def _seal(self, plaintext: bytes, last: bool) -> None:
        if self._aead is None:
            raise ValueError("the sealed stream is closed")
        sealed = self._aead.encrypt(nonce(self._counter, last), plaintext, None)
        self._counter += 1
        self._write(len(sealed).to_bytes(fmt.LENGTH_SIZE, "big") + sealed)

    def append(self, record: bytes) -> None:
        """Encrypt and write one record of 1 to 64 MiB."""
        if not isinstance(record, bytes | bytearray | memoryview):
            raise TypeError("a record is bytes")
        if not 1 <= len(record) <= fmt.MAX_RECORD:
            raise ValueError(f"a record holds 1 to {fmt.MAX_RECORD} bytes, got {len(record)}")
        self._seal(bytes(record), last=False)

    def close(self) -> None:
        """Write the final record (idempotent). After this, nothing more can be appended."""
        if self._aead is not None:
            self._seal(b"", last=True)
            self._aead = None

    def abandon(self) -> None:
        """Forget the data key without writing the final record (the stream reads as truncated)."""
        self._aead = None

    def __enter__(self) -> SealedStreamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()


def _opened(source: Source) -> tuple[BinaryIO, bool, str]:
    """(file object, whether we own it, how to name it in messages)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True, "the sealed stream"
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True, f"the sealed stream {os.fspath(source)}"
    if hasattr(source, "read"):
        return source, False, "the sealed stream"
    raise TypeError("a sealed stream is given as bytes, a path or a binary file object")


def _auth_failed(what: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"{what} failed authentication: it was altered or damaged",
        hint="copy an intact file again; nothing was released past the damage",
    )


class SealedStreamReader:
    """An opened sealed stream: :attr:`info` and :meth:`records`. Make one with :func:`open_stream`."""

    def __init__(self, src: BinaryIO, owned: bool, what: str, header: fmt.StreamHeader, key: bytes) -> None:
        self.info = _info(header)
        self._src = src
        self._owned = owned
        self._what = what
        self._aead = ChaCha20Poly1305(key)
        self._start = src.tell() if src.seekable() else None
        self._used = False

    def records(self) -> Iterator[bytes]:
        """Yield each data record's plaintext, in order, each only after its tag verified.

        Raises ``Truncated`` where the stream ends without its final record, ``AuthenticationFailed``
        at a damaged, reordered or inserted record, ``InvalidFormat`` for bytes after the final record.
        A reader can be iterated once (or again if its source is seekable).
        """
        if self._used:
            if self._start is None:
                raise ValueError("this sealed stream's source cannot be read twice")
            self._src.seek(self._start)
        self._used = True
        counter = 0
        try:
            while True:
                prefix = _read_exact(self._src, fmt.LENGTH_SIZE)
                if len(prefix) < fmt.LENGTH_SIZE:
                    raise Truncated(
                        f"{self._what} is truncated after {counter} record(s): its final record is missing",
                        hint="the run that wrote it did not finish, or the copy is incomplete",
                    )
                length = int.from_bytes(prefix, "big")
                if not fmt.TAG_SIZE <= length <= fmt.MAX_RECORD + fmt.TAG_SIZE:
                    raise _auth_failed(self._what)
                sealed = _read_exact(self._src, length)
                if len(sealed) < length:
                    raise Truncated(
                        f"{self._what} is truncated inside record {counter + 1}",
                        hint="the run that wrote it did not finish, or the copy is incomplete",
                    )
                last = length == fmt.TAG_SIZE
                try:
                    plaintext = self._aead.decrypt(nonce(counter, last), sealed, None)
                except InvalidTag:
                    raise _auth_failed(self._what) from None
                counter += 1
                if last:
                    if self._src.read(1):
                        raise InvalidFormat(f"{self._what} has data after its final record")
                    return
                yield plaintext
        finally:
            if self._owned:
                self._src.close()

    def read_all(self) -> list[bytes]:
        """Every record, or an exception: nothing is returned from a damaged or truncated stream."""
        return list(self.records())


def _describe(key_id: str, deployment: Deployment) -> str:
    holder = deployment.holder(key_id)
    return f"{holder.label} ({key_id})" if holder else key_id


def read_stream_info(source: Source) -> StreamInfo:
    """The stream's public header (not authenticated: only a holder's key can check its MAC)."""
    src, owned, what = _opened(source)
    try:
        return _info(fmt.read_header(src, what=what))
    finally:
        if owned:
            src.close()


def open_stream(
    source: Source,
    holder: HolderKey,
    *,
    deployment: Deployment,
    content: str | None,
    run_id: bytes | None = None,
) -> SealedStreamReader:
    """Open a sealed stream with a holder's key: checks deployment, content, run id and the header MAC.

    ``content`` (and ``run_id``, if given) must match the header (``None`` accepts any content: say so
    explicitly). Raises ``WrongDeployment``, ``WrongModel`` (other content or run), ``WrongKey``,
    ``AuthenticationFailed``, ``Truncated``, ``InvalidFormat``/``UnsupportedVersion``/``WrongFileType``.
    """
    if not isinstance(holder, HolderKey):
        raise TypeError("holder must be a HolderKey (see load_holder_key)")
    src, owned, what = _opened(source)
    try:
        h = fmt.read_header(src, what=what)
        if h.deployment_id != deployment.deployment_id:
            raise WrongDeployment(
                f"{what} belongs to deployment {h.deployment_id}, "
                f"not to {deployment.name!r} ({deployment.deployment_id})",
                hint="use the deployment file of the device that wrote it",
            )
        if content is not None and h.content != content:
            raise WrongModel(f"{what} holds {h.content!r}, not {content!r}")
        if run_id is not None and h.run_id != run_id:
            raise WrongModel(
                f"{what} belongs to another run than the video it was given with",
                hint="pass the sealed originals written next to this video",
            )
        recipient = next((r for r in h.recipients if r.key_id == holder.key_id), None)
        if recipient is None:
            listed = ", ".join(
                f"{deployment.holder(k).label} ({k})" if deployment.holder(k) else k
                for k in h.recipient_ids()
            )
            raise WrongKey(
                f"{what} is sealed to holders {listed}; your key is {holder.label} ({holder.key_id})",
                hint="a stream cannot be re-wrapped after the run; ask one of those holders",
                recipients=h.recipient_ids(),
                key_id=holder.key_id,
            )
        data_key = _bundle.unwrap(recipient, holder, what=what, info=fmt.INFO_WRAP)
        if not hmac.compare_digest(fmt.header_mac(data_key, h.line), h.mac):
            raise _auth_failed(what)
        return SealedStreamReader(src, owned, what, h, fmt.payload_key(data_key, h.payload_salt))
    except BaseException:
        if owned:
            src.close()
        raise
