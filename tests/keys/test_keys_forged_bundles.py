"""A bundle forged by someone who has only the public deployment file is refused everywhere it is opened.

The forger below follows the published format (docs/key-formats.md) with nothing but the
``cryptography`` primitives and the deployment file: it wraps a data key to every listed holder,
MACs the header and encrypts an ONNX "GY" that paints every region red. Before bundles were
signed, ``recanon keys open`` reported such a bundle as verified and ``recanon recover --learned
--bundle`` ran the painter. Now the header must carry a signature by the deployment's device key,
checked before anything is decrypted or loaded: the unsigned format, a signature by the forger's own
key, and a forger's signature claiming the device's key id are all refused, with one sentence.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest
import recanon_keys as rk
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

RAW = (Encoding.Raw, PublicFormat.Raw)
FORGERIES = ["unsigned", "own signer", "claimed signer"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def forge(payload: bytes, deployment_file: bytes, model: str, version: str, how: str) -> bytes:
    """A bundle of ``payload`` for every holder of ``deployment_file``, made without any private key
    of the deployment (``how``: one of ``FORGERIES``)."""
    dep = json.loads(deployment_file)
    data_key, salt = os.urandom(32), os.urandom(16)
    recipients = []
    for h in dep["holders"]:
        pk = base64.b64decode(h["public_key"])
        esk = X25519PrivateKey.generate()
        epk = esk.public_key().public_bytes(*RAW)
        wrap_key = _hkdf(
            esk.exchange(X25519PublicKey.from_public_bytes(pk)), epk + pk, b"recanon/v1/bundle-wrap"
        )
        wrapped = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), data_key, b"")
        recipients.append({"key_id": h["key_id"], "epk": _b64(epk), "wrapped_key": _b64(wrapped)})
    header = {
        "format": "recanon-bundle/v1",
        "deployment_id": dep["deployment_id"],
        "model": {"name": model, "version": version},
        "plaintext": {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)},
        "created": "2025-01-31T12:00:00Z",
        "payload_salt": _b64(salt),
        "recipients": recipients,
    }
    if how != "unsigned":
        forger = Ed25519PrivateKey.generate()
        own = (
            "dk-"
            + base64.b32encode(
                hashlib.sha256(
                    b"recanon/v1/key-id/device\x00" + forger.public_key().public_bytes(*RAW)
                ).digest()[:10]
            )
            .decode()
            .lower()
        )
        header["format"] = "recanon-bundle/v2"
        header["signer"] = own if how == "own signer" else dep["device"]["key_id"]
        header["sig"] = _b64(forger.sign(b"recanon/v2/bundle-signature\x00" + _canonical(header)))
    line = _canonical(header) + b"\n"
    mac = hmac.new(_hkdf(data_key, b"", b"recanon/v1/bundle-header"), line, hashlib.sha256).digest()
    aead = ChaCha20Poly1305(_hkdf(data_key, salt, b"recanon/v1/bundle-payload"))
    chunks = [payload[i : i + 65536] for i in range(0, max(len(payload), 1), 65536)]
    body = b"".join(
        aead.encrypt(i.to_bytes(11, "big") + (b"\x01" if i == len(chunks) - 1 else b"\x00"), chunk, None)
        for i, chunk in enumerate(chunks)
    )
    return line + mac + body


def red_painter() -> bytes:
    """A two-node ONNX graph that ignores its input and returns red: the attacker's "GY"."""
    from onnx import TensorProto, helper

    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    red = helper.make_tensor("red", TensorProto.FLOAT, [1, 3, 1, 1], [1.0, 0.0, 0.0])
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["portraits", "zero"], ["blank"]),
            helper.make_node("Add", ["blank", "red"], ["recovered"]),
        ],
        "red",
        [helper.make_tensor_value_info("portraits", TensorProto.FLOAT, ["n", 3, 128, 64])],
        [helper.make_tensor_value_info("recovered", TensorProto.FLOAT, ["n", 3, 128, 64])],
        initializer=[zero, red],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "recanon.input_size", "[128, 64]"
    return model.SerializeToString()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A deployment, its holder's key file, and a signed, anonymized output with sealed originals."""
    from tests.test_recovery import anonymize

    folder = tmp_path_factory.mktemp("forged")
    device = rk.generate_device_key("cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    (folder / "lobby.deployment").write_bytes(dep.to_bytes())
    rk.save_private_key(folder / "alice.key", alice, passphrase=None, unsafe_no_passphrase=True)
    assert stat.S_IMODE((folder / "alice.key").stat().st_mode) == 0o600
    anonymize(folder / "run", {"device": device, "alice": alice, "dep": dep})
    return {"folder": folder, "device": device, "alice": alice, "dep": dep}


def _cli(*args: object):
    from recanon_cli.main import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("how", FORGERIES)
def test_keys_open_refuses_a_forged_bundle(site, tmp_path: Path, how: str) -> None:
    folder = site["folder"]
    bundle = tmp_path / "gy.sealed"
    bundle.write_bytes(forge(red_painter(), (folder / "lobby.deployment").read_bytes(), "gy-onnx", "1", how))
    result = _cli("keys", "open", bundle, "--key", folder / "alice.key", "-d", folder / "lobby.deployment")
    assert result.exit_code == 1, result.output
    assert "verified" not in result.stdout
    assert result.stderr.count("recanon: error: ") == 1
    expected = {
        "unsigned": "is unsigned (format recanon-bundle/v1)",
        "own signer": f"not by the device of deployment 'lobby' ({site['device'].key_id})",
        "claimed signer": "has an invalid signature",
    }[how]
    assert expected in result.stderr


@pytest.mark.parametrize("how", FORGERIES)
def test_the_sdk_openers_refuse_a_forged_bundle_before_loading_a_model(
    site, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime
    from recanon_sdk.runtime.sealed_gy import open_sealed_gy_onnx

    sessions: list[object] = []
    real_session = onnxruntime.InferenceSession

    def recording_session(*args, **kwargs):
        sessions.append(args)
        return real_session(*args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", recording_session)
    dep_file = site["dep"].to_bytes()
    with pytest.raises(rk.AuthenticationFailed):
        open_sealed_gy_onnx(forge(red_painter(), dep_file, "gy-onnx", "1", how), site["alice"], site["dep"])
    assert sessions == []  # the attacker's graph never reached onnxruntime

    from recanon_sdk.models import create_model
    from recanon_sdk.models.weights import FORMAT
    from recanon_sdk.runtime.sealed_gy import open_sealed_gy
    from safetensors.torch import save

    state = {k: v.contiguous() for k, v in create_model("gy_unet_s").state_dict().items()}
    weights = save(
        state,
        metadata={
            "format": FORMAT,
            "arch": "gy_unet_s",
            "extra": json.dumps({"deployment_secret": "00" * 32}),
        },
    )
    with pytest.raises(rk.AuthenticationFailed):
        open_sealed_gy(forge(weights, dep_file, "gy", "1", how), site["alice"], site["dep"])


def test_recover_learned_refuses_a_forged_bundle_and_runs_a_signed_one(site, tmp_path: Path) -> None:
    folder = site["folder"]
    common = ["--key", folder / "alice.key", "-d", folder / "lobby.deployment", "-q", "--learned"]
    forged = tmp_path / "forged.sealed"
    forged.write_bytes(
        forge(red_painter(), (folder / "lobby.deployment").read_bytes(), "gy-onnx", "1", "unsigned")
    )
    out = tmp_path / "forged.mp4"
    result = _cli("recover", folder / "run" / "out.mp4", *common, "--bundle", forged, "-o", out)
    assert result.exit_code == 1, result.output
    assert "is unsigned" in result.stderr and not out.exists()
    # control: the same painter sealed by the deployment's own device is accepted and does run, so the
    # refusal above is the missing signature and nothing else
    signed = tmp_path / "signed.sealed"
    signed.write_bytes(
        rk.seal(
            red_painter(),
            deployment=site["dep"],
            model_name="gy-onnx",
            model_version="1",
            device_key=site["device"],
        )
    )
    out = tmp_path / "signed.mp4"
    result = _cli("recover", folder / "run" / "out.mp4", *common, "--bundle", signed, "-o", out)
    assert result.exit_code == 0, result.output
    from recanon_sdk.video.reader import VideoSource

    frame = next(iter(VideoSource(out))).image.astype(int)
    red = (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] < 60)
    assert red.sum() > 500  # the painter ran on the recovered regions


def test_an_unsigned_bundle_opens_only_when_explicitly_allowed_and_then_warns(site, tmp_path: Path) -> None:
    folder = site["folder"]
    payload = b"an old bundle, sealed before bundles were signed"
    old = tmp_path / "old.sealed"
    old.write_bytes(forge(payload, (folder / "lobby.deployment").read_bytes(), "gy", "1", "unsigned"))
    with pytest.raises(rk.AuthenticationFailed, match="unsigned"):
        rk.open_sealed(old, site["alice"], deployment=site["dep"], model_name="gy", model_version="1")
    with pytest.warns(rk.UnsignedBundleWarning, match="unsigned"):
        assert (
            rk.open_sealed(
                old,
                site["alice"],
                deployment=site["dep"],
                model_name="gy",
                model_version="1",
                unsafe_allow_unsigned=True,
            )
            == payload
        )
    base = ["keys", "open", old, "--key", folder / "alice.key", "-d", folder / "lobby.deployment"]
    result = _cli(*base, "--allow-unsigned")
    assert result.exit_code == 0, result.output
    assert "recanon: warning: " in result.stderr and "unsigned" in result.stderr
    assert "UNSIGNED" in result.stdout
    # re-wrapping with the device key turns it into a signed bundle that opens without the flag
    device_key = folder / "cam.device.key"
    if not device_key.exists():
        rk.save_private_key(device_key, site["device"], passphrase=None, unsafe_no_passphrase=True)
    new = tmp_path / "new.sealed"
    result = _cli(
        "keys",
        "rewrap",
        old,
        "--key",
        folder / "alice.key",
        "-d",
        folder / "lobby.deployment",
        "--device-key",
        device_key,
        "--out",
        new,
        "--allow-unsigned",
    )
    assert result.exit_code == 0, result.output
    result = _cli(*base[:2], new, *base[3:])
    assert result.exit_code == 0 and f"signed by {site['device'].key_id}" in result.stdout, result.output


def test_eval_refuses_a_forged_gy_bundle(site, tmp_path: Path) -> None:
    from recanon_sdk.models import create_model
    from recanon_sdk.models.weights import FORMAT
    from safetensors.torch import save

    folder = site["folder"]
    state = {k: v.contiguous() for k, v in create_model("gy_unet_s").state_dict().items()}
    meta = {"format": FORMAT, "arch": "gy_unet_s", "extra": json.dumps({"deployment_secret": "00" * 32})}
    forged = tmp_path / "forged.sealed"
    forged.write_bytes(
        forge(save(state, metadata=meta), (folder / "lobby.deployment").read_bytes(), "gy", "1", "unsigned")
    )
    (tmp_path / "data").mkdir()
    result = _cli(
        "eval",
        "--data",
        f"folder:{tmp_path / 'data'}",
        "--method",
        "gx",
        "--no-reid",
        "--bundle",
        forged,
        "--key",
        folder / "alice.key",
        "-d",
        folder / "lobby.deployment",
        "-o",
        tmp_path / "report",
    )
    assert result.exit_code == 1, result.output
    assert "is unsigned (format recanon-bundle/v1)" in result.stderr and not (tmp_path / "report").exists()
