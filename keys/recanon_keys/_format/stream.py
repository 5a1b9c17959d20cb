"""STREAM payload encryption (as in age): ChaCha20-Poly1305 over 64 KiB chunks.

``nonce_i = i as 11-byte big-endian || (0x01 if chunk i is the last else 0x00)``

The plaintext size is known from the authenticated header, so the chunk layout is fixed:
``n = max(1, ceil(size / 65536))`` chunks, all full except possibly the last, which carries the
last-flag. A payload that ends early, has no final chunk, has extra bytes, or has chunks swapped,
dropped or reordered fails. Decryption yields each chunk only after its tag verified.

>>> key = bytes(32)
>>> ct = b"".join(encrypt_chunks(key, [b"hello"], size=5))
>>> import io
>>> b"".join(decrypt_chunks(key, io.BytesIO(ct), size=5))
b'hello'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ..errors import AuthenticationFailed, InvalidFormat, Truncated

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
MAX_COUNTER = 2**88 - 1


def nonce(counter: int, last: bool) -> bytes:
    if not 0 <= counter <= MAX_COUNTER:
        raise OverflowError("STREAM counter overflow")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def chunk_count(size: int) -> int:
    return max(1, -(-size // CHUNK_SIZE))


def payload_size(size: int) -> int:
    return size + TAG_SIZE * chunk_count(size)


def encrypt_chunks(key: bytes, chunks: Iterable[bytes], *, size: int) -> Iterator[bytes]:
    """Encrypt plaintext given as chunks of exactly CHUNK_SIZE bytes (the last may be shorter).

    Raises ``ValueError`` if the chunks do not add up to ``size`` (the input changed under us).
    """
    aead = ChaCha20Poly1305(key)
    n = chunk_count(size)
    seen = 0
    it = iter(chunks)
    for i in range(n):
        expected = min(CHUNK_SIZE, size - i * CHUNK_SIZE)
        chunk = next(it, None)
        if chunk is None or len(chunk) != expected:
            raise ValueError("the input changed while it was being sealed (size differs)")
        seen += len(chunk)
        yield aead.encrypt(nonce(i, i == n - 1), chunk, None)
    if next(it, b"") != b"":
        raise ValueError("the input changed while it was being sealed (it grew)")


def decrypt_chunks(key: bytes, src: BinaryIO, *, size: int, where: str = "the bundle") -> Iterator[bytes]:
    """Yield authenticated plaintext chunks read from ``src``; raise at the first bad or missing byte."""
    aead = ChaCha20Poly1305(key)
    n = chunk_count(size)
    for i in range(n):
        want = min(CHUNK_SIZE, size - i * CHUNK_SIZE) + TAG_SIZE
        data = src.read(want)
        if len(data) != want:
            at = "at the boundary after" if not data else "inside"
            chunk = i if not data else i + 1
            raise Truncated(
                f"{where} is truncated: its payload ends {at} chunk {chunk} of {n}",
                hint="copy the complete file again",
            )
        try:
            yield aead.decrypt(nonce(i, i == n - 1), data, None)
        except InvalidTag:
            raise AuthenticationFailed(
                f"{where} failed authentication: it was altered or damaged",
                hint="copy an intact file again; nothing was decrypted",
            ) from None
    if src.read(1):
        raise InvalidFormat(
            f"{where} has extra bytes after its final chunk", hint="copy an intact file again"
        )
