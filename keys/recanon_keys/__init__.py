"""recanon_keys: key management for recanon (sealed model bundles, signed outputs). No torch, no numpy.

A safe recipe over ``cryptography``: key holders (X25519) open sealed bundles, a
device (Ed25519) signs deployments, sealed bundles, pose sidecars and run manifests. Formats:
docs/key-formats.md; threat model: docs/security.md.

>>> import recanon_keys as rk
>>> device = rk.generate_device_key("cam-01")
>>> alice = rk.generate_holder("alice")
>>> dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
>>> bundle = rk.seal(b"weights", deployment=dep, model_name="gy", model_version="1", device_key=device)
>>> rk.open_sealed(bundle, alice, deployment=dep, model_name="gy", model_version="1")
b'weights'
"""

from __future__ import annotations

from ._format.encoding import check_plain_name
from ._format.kdf import DEFAULT_PARAMS as DEFAULT_KDF_PARAMS
from ._format.kdf import Argon2idParams
from .audit import AuditEntry, AuditReport, append_audit_entry, audit_public_key, verify_audit_log
from .deployments import Deployment, Policy, create_deployment, load_deployment
from .errors import (
    EXPECT,
    AuthenticationFailed,
    InvalidFormat,
    RecanonKeysError,
    Truncated,
    UnsafeKeyFile,
    UnsafeKeyFileWarning,
    UnsignedBundleWarning,
    UnsupportedVersion,
    WrongDeployment,
    WrongFileType,
    WrongKey,
    WrongModel,
    WrongPassphrase,
)
from .files import PUBLIC_DEMO_KEY_IDS, read_passphrase_file, read_private_key_file
from .identities import (
    DeviceKey,
    DevicePublicKey,
    HolderKey,
    HolderPublicKey,
    KeyFileInfo,
    generate_device_key,
    generate_holder,
    load_device_key,
    load_holder_key,
    read_key_file_info,
    save_private_key,
)
from .inspect import Inspection, inspect_bytes, inspect_file
from .manifest import (
    FileDigest,
    RunManifest,
    build_run_manifest,
    file_digest,
    sign_manifest,
    verify_manifest,
    write_signed_manifest,
)
from .model_secret import derive_model_secret
from .rewrapping import rewrap, rewrap_file, rotate, rotate_file
from .sealing import BundleInfo, open_sealed, open_sealed_io, read_bundle_info, seal, seal_file
from .sidecar import SidecarSigner, SidecarSummary, verify_sidecar
from .streams import SealedStreamReader, SealedStreamWriter, StreamInfo, open_stream, read_stream_info
from .verify import Check, OutputFiles, VerificationReport, companion_paths, verify_output

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_KDF_PARAMS",
    "EXPECT",
    "PUBLIC_DEMO_KEY_IDS",
    "Argon2idParams",
    "AuditEntry",
    "AuditReport",
    "AuthenticationFailed",
    "BundleInfo",
    "Check",
    "Deployment",
    "DeviceKey",
    "DevicePublicKey",
    "FileDigest",
    "HolderKey",
    "HolderPublicKey",
    "Inspection",
    "InvalidFormat",
    "KeyFileInfo",
    "OutputFiles",
    "Policy",
    "RecanonKeysError",
    "RunManifest",
    "SealedStreamReader",
    "SealedStreamWriter",
    "SidecarSigner",
    "SidecarSummary",
    "StreamInfo",
    "Truncated",
    "UnsafeKeyFile",
    "UnsafeKeyFileWarning",
    "UnsignedBundleWarning",
    "UnsupportedVersion",
    "VerificationReport",
    "WrongDeployment",
    "WrongFileType",
    "WrongKey",
    "WrongModel",
    "WrongPassphrase",
    "__version__",
    "append_audit_entry",
    "audit_public_key",
    "build_run_manifest",
    "check_plain_name",
    "companion_paths",
    "create_deployment",
    "derive_model_secret",
    "file_digest",
    "generate_device_key",
    "generate_holder",
    "inspect_bytes",
    "inspect_file",
    "load_deployment",
    "load_device_key",
    "load_holder_key",
    "open_sealed",
    "open_sealed_io",
    "open_stream",
    "read_bundle_info",
    "read_key_file_info",
    "read_passphrase_file",
    "read_private_key_file",
    "read_stream_info",
    "rewrap",
    "rewrap_file",
    "rotate",
    "rotate_file",
    "save_private_key",
    "seal",
    "seal_file",
    "sign_manifest",
    "verify_audit_log",
    "verify_manifest",
    "verify_output",
    "verify_sidecar",
    "write_signed_manifest",
]
