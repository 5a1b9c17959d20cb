"""Test vectors of sealed bundles: opening, signatures, STREAM faults, re-wrap and rotation."""

from __future__ import annotations

import base64
import io
import json
import warnings

from recanon_keys import rewrapping
from recanon_keys._format import stream
from recanon_keys.errors import UnsignedBundleWarning
from vector_kit import NOW, Drbg, Fixtures, craft_bundle, flip, payload, redoc, seal, sha, vector


def build(fx: Fixtures) -> dict[str, bytes]:
    v: dict[str, bytes] = {}
    alice_id, bob_id, carol_id = (fx.identity_line(h) for h in (fx.alice, fx.bob, fx.carol))
    lobby, garage = (d.to_bytes().decode().rstrip("\n") for d in (fx.lobby, fx.garage))
    dep_bytes = fx.lobby.to_bytes()

    # --- bundles -----------------------------------------------------------------------------------
    b = dict(kind="bundle", identity=alice_id, deployment=lobby, model_name="gy", model_version="1.0")
    small = payload(1000, "small")
    two = payload(stream.CHUNK_SIZE + 1, "two-chunks")
    ok = seal(fx, small, "bundle_ok")
    ok_two = seal(fx, two, "bundle_two_chunks")
    header_len = ok.index(b"\n") + 1
    v["bundle_ok"] = vector(ok, expect="ok", **b, payload=sha(small))
    v["bundle_ok_second_recipient"] = vector(ok, expect="ok", **{**b, "identity": bob_id}, payload=sha(small))
    v["bundle_empty_ok"] = vector(seal(fx, b"", "bundle_empty"), expect="ok", **b, payload=sha(b""))
    v["bundle_two_chunks_ok"] = vector(ok_two, expect="ok", **b, payload=sha(two))
    exact = payload(stream.CHUNK_SIZE, "exact")
    v["bundle_exact_chunk_ok"] = vector(
        seal(fx, exact, "bundle_exact"),
        expect="ok",
        **b,
        payload=sha(exact),
        comment="one full chunk, which is the final chunk",
    )
    v["bundle_wrong_key"] = vector(ok, expect="wrong_key", **{**b, "identity": carol_id})
    v["bundle_wrong_deployment"] = vector(ok, expect="wrong_deployment", **{**b, "deployment": garage})
    v["bundle_wrong_model"] = vector(ok, expect="wrong_model", **{**b, "model_name": "gx"})
    v["bundle_wrong_model_version"] = vector(ok, expect="wrong_model", **{**b, "model_version": "2.0"})
    v["bundle_header_mac_bad"] = vector(flip(ok, header_len + 5), expect="authentication_failed", **b)
    hdr = json.loads(ok[:header_len])
    v["bundle_header_altered"] = vector(
        redoc(ok[:header_len], lambda o: o["model"].update(version="1.1")) + ok[header_len:],
        expect="authentication_failed",
        **{**b, "model_version": "*"},
        comment="header changed, MAC kept",
    )
    v["bundle_header_noncanonical"] = vector(
        ok[:header_len].replace(b'{"', b'{ "', 1) + ok[header_len:], expect="invalid_format", **b
    )
    wrapped = base64.b64decode(hdr["recipients"][0]["wrapped_key"])
    v["bundle_wrapped_key_bad"] = vector(
        redoc(
            ok[:header_len],
            lambda o: o["recipients"][0].update(wrapped_key=base64.b64encode(flip(wrapped, 3)).decode()),
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
    )
    v["bundle_payload_flip"] = vector(
        flip(ok, len(ok) - 20), expect="authentication_failed", **b, released=sha(b"")
    )
    v["bundle_hash_mismatch"] = vector(
        craft_bundle(fx, small, "hash", sha256=sha(b"something else")),
        expect="authentication_failed",
        **b,
        released=sha(small),
        comment="MAC and tags valid, header SHA-256 wrong: nothing is returned",
    )
    v["bundle_unsupported_version"] = vector(
        redoc(ok[:header_len], lambda o: o.update(format="recanon-bundle/v3")) + ok[header_len:],
        expect="unsupported_version",
        **b,
    )
    # Sender authentication: only the deployment's device key signs bundles holders accept
    unsigned = seal(fx, small, "bundle_unsigned", signer=None)
    v["bundle_unsigned_refused"] = vector(
        unsigned,
        expect="authentication_failed",
        **b,
        comment="a v1 bundle (no signature): anyone with the deployment file can make one",
    )
    v["bundle_unsigned_allowed_ok"] = vector(
        unsigned,
        expect="ok",
        **b,
        allow_unsigned="yes",
        payload=sha(small),
        comment="the same, opened with unsafe_allow_unsigned=True (an old bundle, with a warning)",
    )
    v["bundle_foreign_signer"] = vector(
        seal(fx, small, "bundle_foreign", signer=fx.other_device),
        expect="authentication_failed",
        **b,
        comment="sealed to lobby's holders, signed by device cam-99 (not lobby's)",
    )
    sig = base64.b64decode(hdr["sig"])
    v["bundle_signature_bad"] = vector(
        redoc(ok[:header_len], lambda o: o.update(sig=base64.b64encode(flip(sig, 7)).decode()))
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        comment="one signature bit flipped (the MAC is over the altered line too: refused before it)",
    )
    forged = seal(fx, small, "bundle_forged", signer=fx.other_device)
    v["bundle_signer_claimed"] = vector(
        redoc(forged[: forged.index(b"\n") + 1], lambda o: o.update(signer=fx.device.key_id))
        + forged[forged.index(b"\n") + 1 :],
        expect="authentication_failed",
        **b,
        comment="signed by cam-99 but naming lobby's device as signer",
    )
    v["bundle_signature_stripped"] = vector(
        redoc(ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"))) + ok[header_len:],
        expect="invalid_format",
        **b,
        comment="signer and sig removed from a v2 header",
    )
    v["bundle_downgraded"] = vector(
        redoc(
            ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"), o.update(format="recanon-bundle/v1"))
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        comment="a v2 bundle relabelled v1 without its signature: refused as unsigned",
    )
    v["bundle_downgraded_allowed"] = vector(
        redoc(
            ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"), o.update(format="recanon-bundle/v1"))
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        allow_unsigned="yes",
        comment="the same with unsafe_allow_unsigned=True: the header MAC still fails",
    )
    v["bundle_wrong_type"] = vector(dep_bytes, expect="wrong_file_type", **b)
    v["bundle_not_recanon"] = vector(b"\x00\x00\x00\x18ftypmp42" + bytes(16), expect="invalid_format", **b)
    v["bundle_empty_file"] = vector(b"", expect="truncated", **b)
    v["bundle_truncated_header"] = vector(ok[: header_len // 2], expect="truncated", **b)
    v["bundle_truncated_mac"] = vector(ok[: header_len + 10], expect="truncated", **b)
    v["bundle_too_many_recipients"] = vector(
        redoc(ok[:header_len], lambda o: o.update(recipients=o["recipients"] * 17)) + ok[header_len:],
        expect="invalid_format",
        **b,
    )

    # STREAM faults, on a two-chunk payload (first chunk 64 KiB, final chunk 1 byte)
    first_end = len(ok_two) - (1 + stream.TAG_SIZE)
    v["stream_truncated_final"] = vector(
        ok_two[:first_end],
        expect="truncated",
        **b,
        released=sha(two[:65536]),
        comment="cut at the chunk boundary: no final chunk",
    )
    v["stream_truncated_mid"] = vector(ok_two[: first_end - 100], expect="truncated", **b, released=sha(b""))
    v["stream_truncated_payload_start"] = vector(
        ok_two[: ok_two.index(b"\n") + 1 + 32], expect="truncated", **b, released=sha(b"")
    )
    v["stream_trailing_data"] = vector(ok_two + b"\x00", expect="invalid_format", **b, released=sha(two))
    n1, n2 = stream.nonce(0, False), stream.nonce(1, True)
    parts = [two[:65536], two[65536:]]
    v["stream_last_flag_missing"] = vector(
        craft_bundle(fx, two, "noflag", nonces=[n1, stream.nonce(1, False)]),
        expect="authentication_failed",
        **b,
        released=sha(two[:65536]),
        comment="final chunk encrypted without the last-flag",
    )
    v["stream_early_final"] = vector(
        craft_bundle(fx, two, "early", nonces=[stream.nonce(0, True), n2]),
        expect="authentication_failed",
        **b,
        released=sha(b""),
        comment="first chunk flagged as last",
    )
    v["stream_chunks_swapped"] = vector(
        craft_bundle(fx, two, "swap", nonces=[n2, n1], chunks=parts[::-1]),
        expect="authentication_failed",
        **b,
        released=sha(b""),
    )

    # Re-wrap and rotation
    rewrapped = io.BytesIO()
    rewrapping._rewrap_stream(
        io.BytesIO(ok),
        rewrapped,
        fx.alice,
        deployment=fx.lobby2,
        device_key=fx.device,
        rng=Drbg("rewrap"),
        what="x",
    )
    lobby2 = fx.lobby2.to_bytes().decode().rstrip("\n")
    v["bundle_rewrapped_ok"] = vector(
        rewrapped.getvalue(),
        expect="ok",
        **{**b, "identity": carol_id, "deployment": lobby2},
        payload=sha(small),
        comment="re-wrapped by alice to revision 2 (alice, carol)",
    )
    v["bundle_rewrapped_removed"] = vector(
        rewrapped.getvalue(),
        expect="wrong_key",
        **{**b, "identity": bob_id, "deployment": lobby2},
        comment="bob was removed",
    )
    rotated = io.BytesIO()
    rewrapping._rotate_stream(
        io.BytesIO(ok_two),
        rotated,
        fx.bob,
        deployment=fx.lobby2,
        device_key=fx.device,
        rng=Drbg("rotate"),
        now=NOW,
        what="x",
    )
    v["bundle_rotated_ok"] = vector(
        rotated.getvalue(),
        expect="ok",
        **{**b, "deployment": lobby2},
        payload=sha(two),
        comment="fresh data key, wrapped to alice and carol",
    )
    resigned = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsignedBundleWarning)  # re-signing an old bundle, as meant
        rewrapping._rewrap_stream(
            io.BytesIO(unsigned),
            resigned,
            fx.alice,
            deployment=fx.lobby,
            device_key=fx.device,
            rng=Drbg("resign"),
            what="x",
            unsafe_allow_unsigned=True,
        )
    v["bundle_unsigned_rewrapped_ok"] = vector(
        resigned.getvalue(),
        expect="ok",
        **b,
        payload=sha(small),
        comment="an unsigned v1 bundle re-wrapped by alice with the device key: now signed (v2)",
    )
    return v
