"""Signed pose sidecars: a streaming signer (constant memory) and a verifier that names the first bad line.

The anonymizer writes ``X.pose.jsonl`` line by line and feeds every line, exactly as written
(``\\n`` included), to a ``SidecarSigner``, which appends signed records to ``X.pose.jsonl.sig`` as
it goes: one checkpoint every ``policy.checkpoint_every`` lines, and a final record at ``finish()``.
A crash leaves a signature file whose checkpoints still verify the lines before them.

>>> import io
>>> from recanon_keys.identities import generate_device_key
>>> from recanon_keys.deployments import create_deployment
>>> device = generate_device_key("cam-01")
>>> dep = create_deployment("lobby", device_key=device)
>>> sig = io.BytesIO()
>>> signer = SidecarSigner(device, deployment=dep, out=sig)
>>> lines = [b'{"type":"header"}\\n', b'{"frame":0}\\n', b'{"frame":1}\\n']
>>> for line in lines:
...     signer.add_line(line)
>>> summary = signer.finish()
>>> verify_sidecar(b"".join(lines), sig.getvalue(), deployment=dep).lines
3
>>> try:
...     verify_sidecar(b"".join([lines[0], b'{"frame":9}\\n', lines[2]]), sig.getvalue(), deployment=dep)
... except AuthenticationFailed as exc:
...     exc.first_bad_line
2
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from ._format import sidecar as fmt
from ._format.encoding import Rng, b64e, now_utc
from .deployments import Deployment
from .errors import AuthenticationFailed, InvalidFormat, Truncated, WrongDeployment
from .identities import DeviceKey

__all__ = ["SidecarSigner", "SidecarSummary", "verify_sidecar"]

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True)
class SidecarSummary:
    """What a signed (or verified) sidecar commits to; goes into the run manifest."""

    run_id: str  # base64 of 16 random bytes
    lines: int
    chain_head: str  # hex
    sha256: str  # of the whole sidecar file
    size: int


class SidecarSigner:
    """Sign a sidecar while it is written. ``add_line`` takes each line's exact bytes, ending in ``\\n``.

    ``out`` receives the signature file (``X.pose.jsonl.sig``); it is flushed after every record.
    """

    def __init__(self, device_key: DeviceKey, *, deployment: Deployment, out: BinaryIO) -> None:
        self._init(device_key, deployment=deployment, out=out, rng=os.urandom, now=now_utc())

    def _init(
        self, device_key: DeviceKey, *, deployment: Deployment, out: BinaryIO, rng: Rng, now: datetime
    ) -> None:
        if not isinstance(device_key, DeviceKey):
            raise TypeError("device_key must be a DeviceKey (see load_device_key)")
        if device_key.key_id != deployment.device.key_id:
            raise ValueError(
                f"deployment {deployment.name!r} is signed by device {deployment.device.key_id}, "
                f"not by {device_key.key_id}"
            )
        self._key = device_key
        self._out = out
        self._every = deployment.policy.checkpoint_every
        self._run_id = rng(fmt.RUN_ID_SIZE)
        self._start = fmt.encode_start(
            deployment_id=deployment.deployment_id,
            device_key_id=device_key.key_id,
            run_id=self._run_id,
            checkpoint_every=self._every,
            created=now,
        )
        self._head = fmt.chain_start(self._run_id)
        self._digests = bytearray()
        self._lines = 0
        self._seq = 0
        self._file_hash = hashlib.sha256()
        self._size = 0
        self._finished = False
        self._write(self._start)

    @property
    def run_id(self) -> str:
        return b64e(self._run_id)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()

    def _emit(self, type_: str) -> None:
        self._seq += 1
        body = fmt.record_body(
            type_=type_, seq=self._seq, lines=self._lines, chain=self._head, digests=bytes(self._digests)
        )
        sig = self._key._sign(fmt.signed_message(self._start, body))
        self._write(fmt.encode_record(body, sig))
        self._digests.clear()

    def add_line(self, line: bytes) -> None:
        """Add one line exactly as written to the sidecar: bytes ending in one ``\\n`` (and no other)."""
        if self._finished:
            raise ValueError("the sidecar signer is already finished")
        if not isinstance(line, bytes | bytearray | memoryview):
            raise TypeError("a sidecar line is bytes")
        line = bytes(line)
        if not line.endswith(b"\n") or b"\n" in line[:-1]:
            raise ValueError("a sidecar line must end with exactly one b'\\n' (pass it as written)")
        if len(line) > fmt.MAX_LINE:
            raise ValueError(f"a sidecar line is at most {fmt.MAX_LINE} bytes")
        digest = hashlib.sha256(line).digest()
        self._head = fmt.chain_step(self._head, digest)
        self._digests += digest[: fmt.DIGEST_SIZE]
        self._lines += 1
        self._file_hash.update(line)
        self._size += len(line)
        if self._lines % self._every == 0:
            self._emit("checkpoint")

    def finish(self) -> SidecarSummary:
        """Write the final record; returns what the run manifest records about the sidecar."""
        if self._finished:
            raise ValueError("the sidecar signer is already finished")
        self._emit("final")
        self._finished = True
        return SidecarSummary(
            self.run_id, self._lines, self._head.hex(), self._file_hash.hexdigest(), self._size
        )


def _stream(source: Source) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True
    if hasattr(source, "readline"):
        return source, False
    raise TypeError("give bytes, a path or a binary file")


def _readline(src: BinaryIO, limit: int) -> bytes:
    return src.readline(limit + 1)


def verify_sidecar(sidecar: Source, signature: Source, *, deployment: Deployment) -> SidecarSummary:
    """Check a sidecar against its signature file and ``deployment``'s device key.

    Raises ``AuthenticationFailed`` (``.first_bad_line``: the first altered/removed/inserted line, or
    ``None`` if the signature file itself was altered), ``Truncated`` (``.verified_lines``: no final
    record, e.g. the run crashed), ``WrongDeployment``, ``InvalidFormat`` and subclasses.
    """
    side, close_side = _stream(sidecar)
    sig, close_sig = _stream(signature)
    try:
        return _verify(side, sig, deployment)
    finally:
        if close_side:
            side.close()
        if close_sig:
            sig.close()


def _verify(side: BinaryIO, sig: BinaryIO, deployment: Deployment) -> SidecarSummary:
    what = "the sidecar signature file"
    start_line = _readline(sig, fmt.MAX_RECORD)
    if not start_line:
        raise Truncated(f"{what} is empty", verified_lines=0)
    if not start_line.endswith(b"\n"):
        if len(start_line) > fmt.MAX_RECORD:
            raise InvalidFormat(f"{what} has a line longer than {fmt.MAX_RECORD} bytes")
        raise Truncated(f"{what} ends inside its first line", verified_lines=0)
    start = fmt.parse_start(start_line, what=what)
    if start.deployment_id != deployment.deployment_id:
        raise WrongDeployment(
            f"the sidecar was signed for deployment {start.deployment_id}, not {deployment.name!r} "
            f"({deployment.deployment_id})",
            hint="use the deployment file of the device that made this output",
        )
    if start.device_key_id != deployment.device.key_id:
        raise WrongDeployment(
            f"the sidecar was signed by device {start.device_key_id}; deployment {deployment.name!r} "
            f"trusts device {deployment.device.key_id}",
        )
    head = fmt.chain_start(start.run_id)
    file_hash, size, lines, seq, final = hashlib.sha256(), 0, 0, 0, False
    while True:
        rec_line = _readline(sig, fmt.MAX_RECORD)
        if not rec_line:
            break
        rwhat = f"{what}, record {seq + 1}"
        if final:
            raise InvalidFormat(f"{what} has records after its final record")
        if not rec_line.endswith(b"\n"):
            if len(rec_line) > fmt.MAX_RECORD:
                raise InvalidFormat(f"{rwhat} is longer than {fmt.MAX_RECORD} bytes")
            raise Truncated(
                f"{what} ends inside record {seq + 1}; lines 1 to {lines} of the sidecar verified",
                verified_lines=lines,
            )
        rec = fmt.parse_record(rec_line, what=rwhat)
        count = rec.lines - lines
        if (
            rec.seq != seq + 1
            or not 0 <= count <= start.checkpoint_every
            or (rec.type == "checkpoint" and count != start.checkpoint_every)
            or len(rec.digests) != fmt.DIGEST_SIZE * count
        ):
            raise InvalidFormat(f"{rwhat} is inconsistent with the records before it")
        if not deployment.device.verify(rec.sig, fmt.signed_message(start.line, rec.body)):
            raise AuthenticationFailed(
                f"{rwhat} has an invalid signature: the signature file was altered "
                f"(lines 1 to {lines} of the sidecar verified)",
                hint="get an intact copy of the .sig file",
            )
        block_first = lines + 1
        for j in range(count):
            line = _readline(side, fmt.MAX_LINE)
            lines += 1
            if not line:
                raise AuthenticationFailed(
                    f"the sidecar ends after line {lines - 1}, but the device signed {rec.lines} lines "
                    f"(line {lines} onward was removed)",
                    first_bad_line=lines,
                )
            digest = hashlib.sha256(line).digest()
            if digest[: fmt.DIGEST_SIZE] != rec.digests[j * fmt.DIGEST_SIZE : (j + 1) * fmt.DIGEST_SIZE]:
                raise AuthenticationFailed(
                    f"sidecar line {lines} differs from what the device signed "
                    "(altered, inserted or removed)",
                    first_bad_line=lines,
                )
            head = fmt.chain_step(head, digest)
            file_hash.update(line)
            size += len(line)
        if head != rec.chain:  # only on an 8-byte digest collision: name the block's first line
            raise AuthenticationFailed(
                f"sidecar lines {block_first} to {lines} differ from what the device signed",
                first_bad_line=block_first,
            )
        seq, final = rec.seq, rec.type == "final"
    if not final:
        raise Truncated(
            f"{what} has no final record: the run did not finish or the file was cut; "
            f"lines 1 to {lines} of the sidecar verified",
            hint="outputs of an interrupted run can only be trusted up to the last checkpoint",
            verified_lines=lines,
        )
    if side.read(1):
        raise AuthenticationFailed(
            f"the sidecar has data after line {lines}, the last line the device signed",
            first_bad_line=lines + 1,
        )
    return SidecarSummary(b64e(start.run_id), lines, head.hex(), file_hash.hexdigest(), size)
