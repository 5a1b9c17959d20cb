"""Generate the recanon_keys test vectors (tests/keys/vectors/<area>_<case>) from a fixed seed.

Run ``python tests/keys/make_vectors.py`` to rewrite them; ``test_keys_vectors.py`` checks that this
script still produces the checked-in bytes exactly, and that each vector gives its ``expect:``.

A vector file is a header of ``name: value`` lines, one empty line, then the file under test::

    expect: ok | invalid_format | wrong_file_type | unsupported_version | truncated |
            authentication_failed | wrong_key | wrong_passphrase | wrong_deployment | wrong_model
    kind: holder_key | device_key | holder_pub | deployment | bundle | sidecar | manifest
    comment: free text
    allow_unsigned: "yes" opens a bundle vector with unsafe_allow_unsigned=True (an old v1 bundle)
    passphrase: the passphrase to open a holder_key/device_key vector
    identity: a one-line holder key file (unprotected) that opens a bundle vector
    deployment: a one-line deployment file the vector is checked against
    model_name / model_version: what the opener asks for ("*": anything)
    payload: SHA-256 of the plaintext an ok bundle opens to
    released: SHA-256 of the plaintext the STREAM layer released (authenticated chunks) before the
              failure; open_sealed itself never returns any of it
    key_id: the key id an ok key file holds
    sidecar: base64 of the sidecar (JSON Lines) a sidecar vector's signature file is checked against
    first_bad_line / verified_lines: what the sidecar verifier reports

The vectors are built by area: vectors_files (key files, deployments), vectors_bundles (bundles),
vectors_outputs (sidecar signatures, manifests, sealed streams), from the kit in vector_kit.
"""

from __future__ import annotations

import sys

import vectors_bundles
import vectors_files
import vectors_outputs
from vector_kit import (  # noqa: F401 - the kit, re-exported for the tests
    NOW,
    PASSPHRASE,
    SIDECAR,
    SIGNED_BY_DEVICE,
    VECTORS,
    WEAK_KDF,
    Drbg,
    Fixtures,
    craft_bundle,
    flip,
    payload,
    redoc,
    seal,
    seal_stream,
    sha,
    sign_sidecar,
    split_stream,
    stream_payload,
    vector,
)


def build_vectors() -> dict[str, bytes]:
    """Every vector, by file name: key files and deployments, bundles, then what the device writes."""
    fx = Fixtures()
    built: dict[str, bytes] = {}
    for module in (vectors_files, vectors_bundles, vectors_outputs):
        part = module.build(fx)
        if set(part) & set(built):
            raise ValueError(f"vector names defined twice: {sorted(set(part) & set(built))}")
        built.update(part)
    return built


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    built = build_vectors()
    for old in VECTORS.iterdir():
        if old.name not in built:
            old.unlink()
    for name, data in sorted(built.items()):
        (VECTORS / name).write_bytes(data)
    print(f"wrote {len(built)} vectors to {VECTORS}", file=sys.stderr)


if __name__ == "__main__":
    main()
