"""Test vectors of what the device writes: pose sidecar signatures, run manifests, sealed streams."""

from __future__ import annotations

import base64
import io
import json

from recanon_keys._format import stream
from recanon_keys._format.encoding import canonical
from recanon_keys.manifest import FileDigest, build_run_manifest, sign_manifest
from recanon_keys.sidecar import SidecarSigner
from vector_kit import (
    NOW,
    SIDECAR,
    Drbg,
    Fixtures,
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


def build(fx: Fixtures) -> dict[str, bytes]:
    v: dict[str, bytes] = {}
    alice_id, bob_id, carol_id = (fx.identity_line(h) for h in (fx.alice, fx.bob, fx.carol))
    lobby, garage, dock = (d.to_bytes().decode().rstrip("\n") for d in (fx.lobby, fx.garage, fx.dock))
    two = payload(stream.CHUNK_SIZE + 1, "two-chunks")
    ok = seal(fx, payload(1000, "small"), "bundle_ok")

    # --- sidecars ----------------------------------------------------------------------------------
    side = b"".join(SIDECAR)
    sig_ok = sign_sidecar(fx, SIDECAR, "sidecar_ok")
    s = dict(kind="sidecar", deployment=dock)

    def side_b64(lines: list[bytes]) -> str:
        return base64.b64encode(b"".join(lines)).decode()

    v["sidecar_ok"] = vector(
        sig_ok, expect="ok", **s, sidecar=side_b64(SIDECAR), comment="6 lines, a checkpoint every 2 lines"
    )
    altered = [*SIDECAR[:2], SIDECAR[2].replace(b'"id":1', b'"id":7'), *SIDECAR[3:]]
    v["sidecar_line_altered"] = vector(
        sig_ok, expect="authentication_failed", **s, sidecar=side_b64(altered), first_bad_line=3
    )
    v["sidecar_line_removed"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([SIDECAR[0], *SIDECAR[2:]]),
        first_bad_line=2,
    )
    v["sidecar_line_inserted"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([*SIDECAR[:4], SIDECAR[1], *SIDECAR[4:]]),
        first_bad_line=5,
    )
    v["sidecar_line_appended"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([*SIDECAR, SIDECAR[1]]),
        first_bad_line=7,
    )
    v["sidecar_last_line_cut"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=base64.b64encode(side[:-1]).decode(),
        first_bad_line=6,
    )
    v["sidecar_unfinished"] = vector(
        sign_sidecar(fx, SIDECAR, "sidecar_ok", finish=False),
        expect="truncated",
        **s,
        sidecar=side_b64(SIDECAR),
        verified_lines=6,
        comment="the run crashed before finish(): checkpoints verify lines 1-6",
    )
    sig_lines = sig_ok.splitlines(keepends=True)
    forged = json.loads(sig_lines[2])
    forged["digests"] = base64.b64encode(flip(base64.b64decode(forged["digests"]), 0)).decode()
    v["sidecar_record_forged"] = vector(
        b"".join([*sig_lines[:2], canonical(forged) + b"\n", *sig_lines[3:]]),
        expect="authentication_failed",
        **s,
        sidecar=side_b64(SIDECAR),
        comment="record 2 altered without the device key",
    )
    v["sidecar_record_dropped"] = vector(
        b"".join([*sig_lines[:2], *sig_lines[3:]]), expect="invalid_format", **s, sidecar=side_b64(SIDECAR)
    )
    v["sidecar_other_deployment"] = vector(
        sig_ok, expect="wrong_deployment", kind="sidecar", deployment=lobby, sidecar=side_b64(SIDECAR)
    )
    v["sidecar_unsupported_version"] = vector(
        redoc(sig_lines[0], lambda o: o.update(format="recanon-sidecar-sig/v3")) + b"".join(sig_lines[1:]),
        expect="unsupported_version",
        **s,
        sidecar=side_b64(SIDECAR),
    )

    # --- manifests ---------------------------------------------------------------------------------
    signer_out = io.BytesIO()
    signer = SidecarSigner.__new__(SidecarSigner)
    signer._init(fx.device, deployment=fx.dock, out=signer_out, rng=Drbg("sidecar_ok"), now=NOW)
    for line in SIDECAR:
        signer.add_line(line)
    summary = signer.finish()
    manifest = build_run_manifest(
        deployment=fx.dock,
        device_key=fx.device,
        tool_version="0.1.0",
        models={"gx": sha(b"gx"), "gy": sha(two)},
        input=FileDigest("in.mp4", sha(b"input video"), 11),
        output=FileDigest("out.mp4", sha(b"output"), 6),
        sidecar=summary,
        sidecar_name="out.pose.jsonl",
        started=NOW,
        finished=NOW,
    )
    signed = sign_manifest(manifest, fx.device)
    m = dict(kind="manifest", deployment=dock)
    v["manifest_ok"] = vector(signed, expect="ok", **m)
    v["manifest_altered_output"] = vector(
        redoc(signed, lambda o: o["output"].update(sha256=sha(b"other"))), expect="authentication_failed", **m
    )
    v["manifest_wrong_deployment"] = vector(
        signed, expect="wrong_deployment", kind="manifest", deployment=lobby
    )
    v["manifest_wrong_type"] = vector(sig_ok, expect="wrong_file_type", **m)

    # --- sealed streams (recanon-stream/v1) ----------------------------------------------------------
    records = [payload(100, "record-0"), payload(1, "record-1"), payload(3000, "record-2")]
    ss_ok = seal_stream(fx, records, "sealed_stream_ok")
    ss_head_len = ss_ok.index(b"\n") + 1 + 32
    ss_head, ss_records = split_stream(ss_ok)
    r = dict(kind="sealed_stream", identity=alice_id, deployment=lobby, content="originals/h264")
    ok_payload = sha(stream_payload(records))
    v["sealed_stream_ok"] = vector(ss_ok, expect="ok", **r, payload=ok_payload)
    v["sealed_stream_ok_second_recipient"] = vector(
        ss_ok, expect="ok", **{**r, "identity": bob_id}, payload=ok_payload
    )
    v["sealed_stream_empty_ok"] = vector(
        seal_stream(fx, [], "sealed_stream_empty"), expect="ok", **r, payload=sha(b"")
    )
    v["sealed_stream_any_content_ok"] = vector(
        ss_ok, expect="ok", **{**r, "content": "*"}, payload=ok_payload
    )
    v["sealed_stream_wrong_key"] = vector(ss_ok, expect="wrong_key", **{**r, "identity": carol_id})
    v["sealed_stream_wrong_deployment"] = vector(
        ss_ok, expect="wrong_deployment", **{**r, "deployment": garage}
    )
    v["sealed_stream_wrong_content"] = vector(
        ss_ok, expect="wrong_model", **{**r, "content": "originals/av1"}
    )
    v["sealed_stream_header_altered"] = vector(
        redoc(ss_ok[: ss_ok.index(b"\n") + 1], lambda o: o["meta"].update(width=1))
        + ss_ok[ss_ok.index(b"\n") + 1 :],
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_header_mac_bad"] = vector(
        flip(ss_ok, ss_head_len - 3), expect="authentication_failed", **r
    )
    v["sealed_stream_record_flip"] = vector(
        flip(ss_ok, ss_head_len + 30), expect="authentication_failed", **r
    )
    v["sealed_stream_records_swapped"] = vector(
        ss_head + ss_records[1] + ss_records[0] + b"".join(ss_records[2:]),
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_record_dropped"] = vector(
        ss_head + ss_records[0] + b"".join(ss_records[2:]), expect="authentication_failed", **r
    )
    v["sealed_stream_final_missing"] = vector(ss_head + b"".join(ss_records[:-1]), expect="truncated", **r)
    v["sealed_stream_truncated_record"] = vector(ss_ok[: ss_head_len + 50], expect="truncated", **r)
    v["sealed_stream_truncated_length"] = vector(ss_ok[: ss_head_len + 2], expect="truncated", **r)
    v["sealed_stream_trailing_data"] = vector(ss_ok + b"\x00", expect="invalid_format", **r)
    v["sealed_stream_length_too_large"] = vector(
        ss_head + (64 * 1024 * 1024 + 17).to_bytes(4, "big") + ss_records[0][4:],
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_unsupported_version"] = vector(
        redoc(ss_ok[: ss_ok.index(b"\n") + 1], lambda o: o.update(format="recanon-stream/v2")),
        expect="unsupported_version",
        **r,
    )
    v["sealed_stream_wrong_type"] = vector(ok, expect="wrong_file_type", **r)
    return v
