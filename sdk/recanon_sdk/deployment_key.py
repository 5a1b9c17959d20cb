"""A deployment's GX/GY key as plain arrays, derived from its 32-byte model secret (no torch).

The one place where the scrambling key is derived; the secret itself comes from the device key
(:func:`recanon_keys.derive_model_secret`). The torch models (:mod:`recanon_sdk.models.keyed`) and
the ONNX runtime both take their key from here.

The keyed generators (:mod:`recanon_sdk.models.keyed`) permute and sign-flip a band of DCT
coefficients with a key derived from the deployment's secret: HKDF-SHA256 (RFC 5869) then
SHAKE-256, so the key depends only on the secret and the number of coefficients, never on a library
version. This module holds that derivation in NumPy so the runtime-only install (ONNX Runtime, no
torch) derives the same key as training and the torch models do.

>>> perm, signs, code = derive_key_arrays(bytes(32), num_coefficients=10)
>>> sorted(perm.tolist()) == list(range(10)), set(signs.tolist()) <= {-1.0, 1.0}, code
(True, True, None)
>>> scrambled_coefficients(128, 64)    # the default band of a 128×64 portrait
2304
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_BYTES = 32
_SALT = b"recanon/keyed/v1"


def hkdf_sha256(secret: bytes, info: bytes, length: int, salt: bytes = _SALT) -> bytes:
    """HKDF-SHA256 (RFC 5869, ``cryptography``'s implementation): extract with ``salt``, expand
    ``length`` bytes bound to ``info``.

    >>> hkdf_sha256(b"k" * 32, b"x", 4).hex()  # deterministic
    '0a1eacf4'
    """
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 can expand at most 8160 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


def check_secret(secret: bytes) -> bytes:
    """``secret`` as bytes; :class:`ValueError` unless it is 32 bytes."""
    if not isinstance(secret, bytes | bytearray) or len(secret) != SECRET_BYTES:
        raise ValueError(f"a deployment secret must be {SECRET_BYTES} bytes")
    return bytes(secret)


def derive_code_array(secret: bytes, dim: int) -> np.ndarray:
    """A ±1 float32 code vector of length ``dim`` derived from the secret."""
    raw = hkdf_sha256(check_secret(secret), b"code", math.ceil(dim / 8) or 1)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:dim]
    return bits.astype(np.float32) * 2 - 1


def derive_key_arrays(
    secret: bytes, num_coefficients: int, code_dim: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The permutation (int64), signs (float32 ±1) and optional code of one deployment's key."""
    okm = hkdf_sha256(check_secret(secret), b"band-scramble", 32)
    stream = hashlib.shake_256(okm + num_coefficients.to_bytes(8, "little")).digest(9 * num_coefficients)
    ranks = np.frombuffer(stream[: 8 * num_coefficients], dtype="<u8")
    perm = np.argsort(ranks, kind="stable").astype(np.int64)
    sign_bits = np.unpackbits(np.frombuffer(stream[8 * num_coefficients :], dtype=np.uint8))
    signs = sign_bits[:num_coefficients].astype(np.float32) * 2 - 1
    code = derive_code_array(secret, code_dim) if code_dim else None
    return perm, signs, code


def scrambled_coefficients(
    height: int, width: int, block: int = 8, min_diag: int = 2, max_diag: int = 5
) -> int:
    """How many DCT coefficients a ``height × width`` image has in the scrambled band (the key length)."""
    if height % block or width % block:
        raise ValueError(f"image size {height}x{width} must be a multiple of {block}")
    band = sum(1 for u in range(block) for v in range(block) if min_diag <= u + v <= max_diag)
    return (height // block) * (width // block) * band
