"""Test vectors of key files (private and public) and deployment files."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

from recanon_keys._format import keyfile
from vector_kit import PASSPHRASE, WEAK_KDF, Drbg, Fixtures, flip, redoc, vector


def build(fx: Fixtures) -> dict[str, bytes]:
    v: dict[str, bytes] = {}

    # --- private and public key files -------------------------------------------------------------
    def holder_file(key, passphrase, seed):
        return key._to_bytes(
            passphrase=passphrase,
            unsafe_no_passphrase=passphrase is None,
            kdf_params=WEAK_KDF,
            unsafe_weak_kdf=True,
            rng=Drbg(seed),
        )

    alice_pw = holder_file(fx.alice, PASSPHRASE, "holder_key_ok")
    alice_none = holder_file(fx.alice, None, "holder_key_unprotected")
    device_pw = holder_file(fx.device, PASSPHRASE, "device_key_ok")
    k = dict(kind="holder_key")
    v["holder_key_ok"] = vector(
        alice_pw,
        expect="ok",
        **k,
        passphrase=PASSPHRASE,
        key_id=fx.alice.key_id,
        comment="Argon2id-protected holder key (weak test parameters)",
    )
    v["holder_key_unprotected_ok"] = vector(
        alice_none, expect="ok", **k, key_id=fx.alice.key_id, comment="kdf none: no passphrase"
    )
    v["holder_key_wrong_passphrase"] = vector(
        alice_pw, expect="wrong_passphrase", **k, passphrase="Correct horse"
    )
    v["holder_key_no_passphrase"] = vector(
        alice_pw, expect="wrong_passphrase", **k, comment="protected file opened without a passphrase"
    )
    v["holder_key_altered_label"] = vector(
        redoc(alice_pw, lambda o: o.update(label="mallory")),
        expect="wrong_passphrase",
        **k,
        passphrase=PASSPHRASE,
        comment="label is associated data: any change fails like a wrong passphrase",
    )
    v["holder_key_unprotected_altered"] = vector(
        redoc(alice_none, lambda o: o.update(label="mallory")), expect="authentication_failed", **k
    )
    v["holder_key_bad_key_id"] = vector(
        redoc(alice_none, lambda o: o.update(key_id=fx.bob.key_id)), expect="invalid_format", **k
    )
    v["holder_key_unsupported_version"] = vector(
        redoc(alice_none, lambda o: o.update(format="recanon-holder-key/v2")),
        expect="unsupported_version",
        **k,
    )
    v["holder_key_wrong_type"] = vector(
        device_pw,
        expect="wrong_file_type",
        **k,
        passphrase=PASSPHRASE,
        comment="a device key where a holder key is expected",
    )
    v["holder_key_noncanonical"] = vector(
        alice_none.replace(b'","', b'", "', 1), expect="invalid_format", **k
    )
    v["holder_key_truncated"] = vector(alice_none[:-1], expect="truncated", **k)
    v["holder_key_kdf_too_costly"] = vector(
        redoc(alice_pw, lambda o: o["kdf"].update(memlimit=4 * 2**30)),
        expect="invalid_format",
        **k,
        passphrase=PASSPHRASE,
        comment="readers refuse Argon2id memory above 1 GiB",
    )
    v["device_key_ok"] = vector(
        device_pw, expect="ok", kind="device_key", passphrase=PASSPHRASE, key_id=fx.device.key_id
    )
    pub = fx.alice.public.to_bytes()
    v["holder_pub_ok"] = vector(pub, expect="ok", kind="holder_pub", key_id=fx.alice.key_id)
    zero = base64.b64encode(bytes(32)).decode()

    def low_order(o: dict) -> None:
        o.update(public_key=zero, key_id=keyfile.holder_key_id(bytes(32)))
        o.update(checksum=keyfile.public_checksum(o))

    v["holder_pub_low_order"] = vector(
        redoc(pub, low_order),
        expect="invalid_format",
        kind="holder_pub",
        comment="the all-zero X25519 point",
    )
    v["holder_pub_v1_ok"] = vector(
        replace(fx.alice.public, audit_key=None).to_bytes(),
        expect="ok",
        kind="holder_pub",
        key_id=fx.alice.key_id,
        comment="an old recanon-holder-pub/v1 file: no audit key",
    )

    v["holder_pub_audit_key_damaged"] = vector(
        redoc(pub, lambda o: o.update(audit_key=base64.b64encode(fx.bob.public.audit_key).decode())),
        expect="invalid_format",
        kind="holder_pub",
        comment="audit key changed, checksum kept",
    )

    # --- deployments -------------------------------------------------------------------------------
    d = dict(kind="deployment")
    dep_bytes = fx.lobby.to_bytes()
    v["deployment_ok"] = vector(dep_bytes, expect="ok", **d)
    v["deployment_revised_ok"] = vector(fx.lobby2.to_bytes(), expect="ok", **d, comment="revision 2")
    sig = base64.b64decode(json.loads(dep_bytes)["sig"])
    v["deployment_bad_signature"] = vector(
        redoc(dep_bytes, lambda o: o.update(sig=base64.b64encode(flip(sig, 10)).decode())),
        expect="authentication_failed",
        **d,
    )
    v["deployment_altered_holder"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][1].update(label="mallory")),
        expect="authentication_failed",
        **d,
    )
    v["deployment_unsupported_version"] = vector(
        redoc(dep_bytes, lambda o: o.update(format="recanon-deployment/v9")),
        expect="unsupported_version",
        **d,
    )
    v["deployment_wrong_type"] = vector(pub, expect="wrong_file_type", **d)
    v["deployment_duplicate_field"] = vector(
        dep_bytes.replace(b'"name":"lobby"', b'"name":"lobby","name":"lobby"'), expect="invalid_format", **d
    )
    v["deployment_v1_ok"] = vector(
        fx.lobby_v1.to_bytes(), expect="ok", **d, comment="an old recanon-deployment/v1 file: no audit keys"
    )
    v["deployment_audit_key_swapped"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][0].update(audit_key=o["holders"][1]["audit_key"])),
        expect="authentication_failed",
        **d,
        comment="alice's audit key replaced by bob's, signature kept",
    )
    v["deployment_audit_key_missing"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][0].pop("audit_key")),
        expect="invalid_format",
        **d,
        comment="a v2 holder entry without its audit key",
    )
    return v
