"""Known-answer tests: every checked-in vector gives exactly its ``expect:``, and the generator still
reproduces every vector byte for byte."""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from pathlib import Path

import make_vectors
import pytest
import recanon_keys as rk
from recanon_keys._format import bundle as bundle_fmt
from recanon_keys._format.stream import decrypt_chunks
from recanon_keys.errors import EXPECT

VECTORS = sorted(Path(__file__).with_name("vectors").iterdir())


def parse_vector(path: Path) -> tuple[dict[str, str], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields, body


def _opt(value: str | None) -> str | None:
    return None if value in (None, "*") else value


def released_by_stream(fields: dict[str, str], body: bytes) -> bytes:
    """Plaintext the STREAM layer yields (authenticated chunk by chunk) before it stops."""
    holder = rk.load_holder_key(fields["identity"].encode() + b"\n", passphrase=None)
    src = io.BytesIO(body)
    header = bundle_fmt.read_header(src, what="v")
    data_key = bundle_fmt.unwrap(
        next(r for r in header.recipients if r.key_id == holder.key_id), holder, what="v"
    )
    bundle_fmt.verify_header_mac(data_key, header, what="v")
    out = bytearray()
    try:
        for chunk in decrypt_chunks(
            bundle_fmt.payload_key(data_key, header.payload_salt), src, size=header.size
        ):
            out += chunk
    except rk.RecanonKeysError:
        pass
    return bytes(out)


def run_vector(fields: dict[str, str], body: bytes) -> object:
    kind = fields["kind"]
    passphrase = fields.get("passphrase")
    deployment = rk.load_deployment(fields["deployment"].encode() + b"\n") if "deployment" in fields else None
    if kind == "holder_key":
        return rk.load_holder_key(body, passphrase=passphrase)
    if kind == "device_key":
        return rk.load_device_key(body, passphrase=passphrase)
    if kind == "holder_pub":
        return rk.HolderPublicKey.from_bytes(body)
    if kind == "deployment":
        return rk.load_deployment(body)
    assert deployment is not None
    if kind == "bundle":
        holder = rk.load_holder_key(fields["identity"].encode() + b"\n", passphrase=None)
        return rk.open_sealed(
            body,
            holder,
            deployment=deployment,
            model_name=_opt(fields.get("model_name")),
            model_version=_opt(fields.get("model_version")),
            unsafe_allow_unsigned=fields.get("allow_unsigned") == "yes",
        )
    if kind == "sealed_stream":
        holder = rk.load_holder_key(fields["identity"].encode() + b"\n", passphrase=None)
        reader = rk.open_stream(body, holder, deployment=deployment, content=_opt(fields.get("content")))
        return make_vectors.stream_payload(reader.read_all())
    if kind == "sidecar":
        return rk.verify_sidecar(base64.b64decode(fields["sidecar"]), body, deployment=deployment)
    if kind == "manifest":
        return rk.verify_manifest(body, deployment=deployment)
    raise AssertionError(f"unknown kind {kind}")


def test_there_are_vectors_for_every_expectation() -> None:
    expects = {parse_vector(p)[0]["expect"] for p in VECTORS}
    assert expects == {"ok", *EXPECT}
    assert len(VECTORS) >= 60


@pytest.mark.parametrize("path", VECTORS, ids=[p.name for p in VECTORS])
def test_vector(path: Path) -> None:
    fields, body = parse_vector(path)
    expect = fields["expect"]
    if expect == "ok":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_vector(fields, body)
        unsigned = [w for w in caught if issubclass(w.category, rk.UnsignedBundleWarning)]
        assert len(unsigned) == (1 if fields.get("allow_unsigned") == "yes" else 0), caught
        if "payload" in fields:
            assert hashlib.sha256(result).hexdigest() == fields["payload"]  # type: ignore[arg-type]
        if "key_id" in fields:
            assert result.key_id == fields["key_id"]  # type: ignore[attr-defined]
        if fields["kind"] == "sidecar":
            assert result.lines == len(base64.b64decode(fields["sidecar"]).splitlines())  # type: ignore[attr-defined]
        return
    with pytest.raises(rk.RecanonKeysError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.UnsignedBundleWarning)
        run_vector(fields, body)
    assert type(info.value) is EXPECT[expect], info.value.message
    assert info.value.message  # a sentence for the user
    if "first_bad_line" in fields:
        assert info.value.first_bad_line == int(fields["first_bad_line"])  # type: ignore[attr-defined]
    if "verified_lines" in fields:
        assert info.value.verified_lines == int(fields["verified_lines"])  # type: ignore[attr-defined]
    if "released" in fields:
        assert hashlib.sha256(released_by_stream(fields, body)).hexdigest() == fields["released"]


def test_generator_reproduces_the_checked_in_vectors_byte_for_byte() -> None:
    built = make_vectors.build_vectors()
    assert sorted(built) == [p.name for p in VECTORS]
    for path in VECTORS:
        assert built[path.name] == path.read_bytes(), path.name
