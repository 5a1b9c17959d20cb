"""The exceptions ``recanon_keys`` raises for bad input (caller mistakes are ``TypeError``/``ValueError``).

Every exception carries a one-sentence ``message`` (what went wrong, and where) and an optional
``hint`` (what to do), so a command line can print both without a traceback. Each class maps to
exactly one ``expect:`` value of the test vectors (``EXPECT``)::

    RecanonKeysError
    ├── InvalidFormat            expect: invalid_format      malformed, non-canonical or oversized input
    │   ├── WrongFileType        expect: wrong_file_type     a recanon file, but not the kind asked for
    │   ├── UnsupportedVersion   expect: unsupported_version a format version this library does not know
    │   └── Truncated            expect: truncated           the input ends early (or never finished)
    ├── AuthenticationFailed     expect: authentication_failed  MAC, AEAD tag or signature did not verify
    ├── WrongKey                 expect: wrong_key           the bundle is not sealed to this key
    ├── WrongPassphrase          expect: wrong_passphrase    the key file did not open with this passphrase
    ├── WrongDeployment          expect: wrong_deployment    the file belongs to another deployment
    ├── WrongModel               expect: wrong_model         the bundle holds another model or version
    └── UnsafeKeyFile            (no vector: a file-system property) a private key file others can read

    UnsignedBundleWarning (a UserWarning): an unsigned v1 bundle was opened because the caller
    explicitly allowed it (``unsafe_allow_unsigned=True``).

Authentication failures are deliberately a single type: the message never says *which* internal
check failed while decrypting, so a forger learns nothing from it. Signature checks on public data
(sidecars, manifests) may say where the data stops matching, e.g. ``first_bad_line``.

>>> try:
...     raise WrongKey("not sealed to your key", hint="ask a listed holder to re-wrap it")
... except RecanonKeysError as exc:
...     (exc.expect, exc.message, exc.hint)
('wrong_key', 'not sealed to your key', 'ask a listed holder to re-wrap it')
"""

from __future__ import annotations

__all__ = [
    "EXPECT",
    "AuthenticationFailed",
    "InvalidFormat",
    "RecanonKeysError",
    "Truncated",
    "UnsafeKeyFile",
    "UnsafeKeyFileWarning",
    "UnsignedBundleWarning",
    "UnsupportedVersion",
    "WrongDeployment",
    "WrongFileType",
    "WrongKey",
    "WrongModel",
    "WrongPassphrase",
]


class RecanonKeysError(Exception):
    """Base class of every error caused by the *input* (a file, a key, a passphrase)."""

    expect = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidFormat(RecanonKeysError):
    """The input is not a well-formed file of the expected kind (bad syntax, non-canonical, too big)."""

    expect = "invalid_format"


class WrongFileType(InvalidFormat):
    """The input is a recanon file, but of another kind (e.g. a deployment where a bundle was expected)."""

    expect = "wrong_file_type"


class UnsupportedVersion(InvalidFormat):
    """The input names a format version this library does not implement."""

    expect = "unsupported_version"


class Truncated(InvalidFormat):
    """The input ends before its format says it should (a cut file, or a run that never finished).

    ``verified_lines`` is set by the sidecar verifier: how many lines were verified before the end.
    """

    expect = "truncated"

    def __init__(self, message: str, *, hint: str | None = None, verified_lines: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.verified_lines = verified_lines


class AuthenticationFailed(RecanonKeysError):
    """A MAC, AEAD tag or signature did not verify: the data was altered or forged.

    ``first_bad_line`` is set by the sidecar verifier: the 1-based number of the first sidecar line
    that does not match what the device signed (altered, removed or inserted).
    """

    expect = "authentication_failed"

    def __init__(self, message: str, *, hint: str | None = None, first_bad_line: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.first_bad_line = first_bad_line


class WrongKey(RecanonKeysError):
    """The bundle is not sealed to this key; ``recipients`` lists the (public) key ids it is sealed to."""

    expect = "wrong_key"

    def __init__(
        self, message: str, *, hint: str | None = None, recipients: tuple[str, ...] = (), key_id: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.recipients = recipients
        self.key_id = key_id


class WrongPassphrase(RecanonKeysError):
    """The private key file did not open: wrong passphrase, or the file was damaged."""

    expect = "wrong_passphrase"


class WrongDeployment(RecanonKeysError):
    """The file belongs to another deployment (or was signed by another device) than the one given."""

    expect = "wrong_deployment"


class WrongModel(RecanonKeysError):
    """The bundle holds another model (name or version) than the one asked for."""

    expect = "wrong_model"


class UnsafeKeyFile(RecanonKeysError):
    """A private key file without a passphrase that other users may read (like ssh, it is not used)."""

    expect = "unsafe_key_file"


class UnsafeKeyFileWarning(UserWarning):
    """A passphrase-protected private key file that other users may read (used, with this warning)."""


class UnsignedBundleWarning(UserWarning):
    """An unsigned (v1) bundle was opened because the caller passed ``unsafe_allow_unsigned=True``."""


#: ``expect:`` value of the test vectors → exception type (``"ok"`` means: no exception).
EXPECT: dict[str, type[RecanonKeysError]] = {
    cls.expect: cls
    for cls in (
        InvalidFormat,
        WrongFileType,
        UnsupportedVersion,
        Truncated,
        AuthenticationFailed,
        WrongKey,
        WrongPassphrase,
        WrongDeployment,
        WrongModel,
    )
}
