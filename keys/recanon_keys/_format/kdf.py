"""Passphrase key derivation: Argon2id (RFC 9106, through ``cryptography``) with bounded, stored parameters.

``wrap_key = Argon2id(UTF-8(NFC(passphrase)), salt, t = opslimit, m = memlimit, p = 1, 32 bytes)``

Writers refuse parameters below ``MIN_OPSLIMIT``/``MIN_MEMLIMIT`` unless told ``unsafe_weak_kdf=True``
(test vectors only); readers accept any parameters inside libsodium's limits (``t`` ≥ 1, ``m`` ≥ 8 KiB;
the first key files were written with libsodium, whose ``crypto_pwhash`` is the same Argon2id v1.3 with
one lane) but at most ``MAX_OPSLIMIT``/``MAX_MEMLIMIT``, so a hostile key file cannot make us allocate
gigabytes.

>>> p = Argon2idParams(opslimit=1, memlimit=8192)
>>> p.check_for_writing(unsafe_weak_kdf=True) is None
True
>>> len(derive_wrap_key("correct horse", b"\\0" * 16, p))
32
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

SALT_BYTES = 16
#: libsodium's lower bounds for Argon2id, which every key file written so far respects.
OPSLIMIT_MIN = 1
MEMLIMIT_MIN = 8192
#: libsodium's MODERATE profile: about 0.8 s and 256 MiB on a 2020s laptop core.
DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT = 256 * 1024 * 1024
#: Below this a writer refuses (OWASP 2023 asks at least 19 MiB with t=2; libsodium INTERACTIVE is 64 MiB).
MIN_OPSLIMIT = 2
MIN_MEMLIMIT = 64 * 1024 * 1024
#: Above this a reader refuses (libsodium SENSITIVE is t=4, 1 GiB).
MAX_OPSLIMIT = 16
MAX_MEMLIMIT = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Argon2idParams:
    """Argon2id cost: ``opslimit`` passes (t) over ``memlimit`` bytes (m), one lane."""

    opslimit: int
    memlimit: int

    def check_for_reading(self) -> bool:
        return OPSLIMIT_MIN <= self.opslimit <= MAX_OPSLIMIT and MEMLIMIT_MIN <= self.memlimit <= MAX_MEMLIMIT

    def check_for_writing(self, *, unsafe_weak_kdf: bool = False) -> None:
        if not self.check_for_reading():
            raise ValueError(
                f"Argon2id parameters out of range (t 1..{MAX_OPSLIMIT}, "
                f"m 8 KiB..{MAX_MEMLIMIT // 2**20} MiB)"
            )
        if not unsafe_weak_kdf and (self.opslimit < MIN_OPSLIMIT or self.memlimit < MIN_MEMLIMIT):
            raise ValueError(
                f"Argon2id parameters too weak (need t >= {MIN_OPSLIMIT} and "
                f"m >= {MIN_MEMLIMIT // 2**20} MiB); "
                "pass unsafe_weak_kdf=True only for tests"
            )


DEFAULT_PARAMS = Argon2idParams(DEFAULT_OPSLIMIT, DEFAULT_MEMLIMIT)


def encode_passphrase(passphrase: str) -> bytes:
    """UTF-8 of the NFC normal form, so the same passphrase typed on any keyboard gives the same key."""
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be a str")
    if not passphrase:
        raise ValueError("the passphrase is empty")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_wrap_key(passphrase: str, salt: bytes, params: Argon2idParams) -> bytes:
    if len(salt) != SALT_BYTES:
        raise ValueError("salt must be 16 bytes")
    if not params.check_for_reading():
        raise ValueError("Argon2id parameters out of range")
    # libsodium's memlimit is in bytes and rounds down to whole KiB; RFC 9106's m is in KiB.
    kdf = Argon2id(
        salt=salt, length=32, iterations=params.opslimit, lanes=1, memory_cost=params.memlimit // 1024
    )
    return kdf.derive(encode_passphrase(passphrase))
