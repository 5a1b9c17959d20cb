"""Authorized recovery: exact (sealed originals) and learned (sealed GY), selection, verification, audit."""

from __future__ import annotations

import numpy as np
import pytest
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Pixelate
from recanon_sdk.errors import InputError, OutputError
from recanon_sdk.originals import OriginalsConfig
from recanon_sdk.recoverer import Recoverer, RecoveryError, Selection, VerificationError
from recanon_sdk.signing import RunSigner
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import write_test_video

LEFT = [8, 16, 60, 100]
RIGHT = [100, 16, 152, 100]
FRAMES = 12


class TwoPeople:
    """Two people standing still, far apart (so their regions never overlap)."""

    def detect(self, images):
        boxes = np.array([LEFT, RIGHT], np.float32)
        return [People(xyxy=boxes.copy(), score=np.array([0.9, 0.9], np.float32)) for _ in images]


@pytest.fixture(scope="module")
def site():
    device = rk.generate_device_key("cam")
    alice, bob = rk.generate_holder("alice"), rk.generate_holder("bob")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public, bob.public])
    other = rk.create_deployment("garage", device_key=rk.generate_device_key("cam2"), holders=[bob.public])
    return {"device": device, "alice": alice, "bob": bob, "dep": dep, "other": other}


def anonymize(folder, site, *, lossless=True, signed=True):
    folder.mkdir(parents=True, exist_ok=True)
    write_test_video(folder / "in.mp4", [i * 40 for i in range(FRAMES)], size=(120, 160))
    # the detector on every frame: the regions stay where the two people stand (synthetic frames give
    # optical flow nothing to follow, so carried regions could drift into each other)
    anonymizer = Anonymizer(
        AnonymizerConfig(batch_size=3), detector=TwoPeople(), enhancer=Pixelate(), detect_every=1
    )
    return anonymizer.process_video(
        folder / "in.mp4",
        folder / "out.mp4",
        signer=RunSigner(site["device"], site["dep"]) if signed else None,
        seal_originals_to=site["dep"],
        originals_config=OriginalsConfig(lossless=lossless),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("exact")
    result = anonymize(folder, site)
    raw = [f.image for f in VideoSource(folder / "in.mp4")]
    anon = [f.image for f in VideoSource(folder / "out.mp4")]
    poses = list(Sidecar(folder / "out.pose.jsonl").frames())
    return {"folder": folder, "result": result, "raw": raw, "anon": anon, "poses": poses}


def recovered(site, run, holder="alice", **selection):
    rec = Recoverer(site[holder], site["dep"], audit_log=run["folder"] / "lobby.audit.jsonl")
    inputs, mode = rec.check(run["folder"] / "out.mp4", selection=Selection(**selection))
    inputs.close()
    frames = list(rec.recover(run["folder"] / "out.mp4", **selection))
    return mode, frames


def region_mask(region, shape=(120, 160)):
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = region
    mask[y0:y1, x0:x1] = True
    return mask


def test_the_run_writes_sealed_originals_named_by_the_signed_sidecar(run):
    result = run["result"]
    assert result.originals == run["folder"] / "out.originals.sealed" and result.originals.is_file()
    sidecar = Sidecar(run["folder"] / "out.pose.jsonl")
    list(sidecar.frames())
    assert sidecar.header["originals"]["name"] == "out.originals.sealed"
    assert sidecar.end["originals"]["size"] == result.originals.stat().st_size == result.originals_bytes
    assert sidecar.end["originals"]["frames"] == FRAMES
    data = result.originals.read_bytes()
    assert rk.read_stream_info(data).content == "originals/h264"
    info = rk.read_stream_info(data)
    assert info.deployment_id == sidecar.header["originals"]["deployment_id"]
    assert info.run_id.hex() == sidecar.header["originals"]["run_id"]


def test_exact_lossless_recovery_restores_every_region_bit_for_bit(site, run):
    mode, frames = recovered(site, run)
    assert mode == "exact" and len(frames) == FRAMES
    restored_pixels = 0
    for (_frame, image, count), raw, anon, poses in zip(
        frames, run["raw"], run["anon"], run["poses"], strict=True
    ):
        assert len(count) == len(poses.people) == 2
        inside = np.zeros(image.shape[:2], bool)
        for region in poses.people.region:
            inside |= region_mask(region)
        assert np.array_equal(image[inside], raw[inside])  # the decoded original, exactly
        assert np.array_equal(image[~inside], anon[~inside])  # the rest is the anonymized frame
        assert not np.array_equal(anon[inside], raw[inside])  # and it was anonymized before
        restored_pixels += int(inside.sum())
    assert restored_pixels > FRAMES * 2 * 40 * 80


def test_one_track_is_recovered_and_the_other_person_stays_anonymized(site, run):
    ids = {int(t) for p in run["poses"] for t in p.people.track_id if t >= 0}
    assert len(ids) == 2
    chosen = min(ids)
    _, frames = recovered(site, run, tracks=frozenset({chosen}))
    checked = 0
    for (_, image, count), raw, anon, poses in zip(
        frames, run["raw"], run["anon"], run["poses"], strict=True
    ):
        for tid, region in zip(poses.people.track_id, poses.people.region, strict=True):
            mask = region_mask(region)
            if tid == chosen:
                assert np.array_equal(image[mask], raw[mask])
                checked += 1
            else:
                assert np.array_equal(image[mask], anon[mask])  # pixel for pixel still anonymized
        assert len(count) == int((poses.people.track_id == chosen).sum())
    assert checked >= FRAMES - 2  # the track is confirmed within the first frames


def test_a_time_range_leaves_every_other_frame_anonymized(site, run):
    times = [p.time for p in run["poses"]]
    start, end = times[4], times[7]
    _, frames = recovered(site, run, start=start, end=end)
    for (_frame, image, count), _raw, anon, poses in zip(
        frames, run["raw"], run["anon"], run["poses"], strict=True
    ):
        if start <= poses.time <= end:
            assert len(count) == 2 and not np.array_equal(image, anon)
        else:
            assert len(count) == 0 and np.array_equal(image, anon)


def test_process_video_writes_the_recovery_and_an_audit_entry_first(site, run, tmp_path):
    rec = Recoverer(site["bob"], site["dep"])
    log = tmp_path / "lobby.audit.jsonl"
    out = tmp_path / "recovered.mp4"
    result = rec.process_video(run["folder"] / "out.mp4", out, tracks=[1], start=0.0, end=0.2, audit_log=log)
    assert out.is_file() and result.frames == FRAMES and result.audit_entry == 1
    assert [f.pts for f in VideoSource(out)] == [f.pts for f in VideoSource(run["folder"] / "out.mp4")]
    report = rk.verify_audit_log(
        log, deployment=site["dep"], audit_keys={site["bob"].key_id: rk.audit_public_key(site["bob"])}
    )
    assert report.ok and report.entries == 1
    event = report.log[0].event
    assert (
        event["tracks"] == [1]
        and event["from_ms"] == 0
        and event["to_ms"] == 200
        and event["mode"] == "exact"
    )
    assert report.log[0].holder == site["bob"].key_id
    rec.process_video(run["folder"] / "out.mp4", tmp_path / "again.mp4", audit_log=log)
    assert rk.verify_audit_log(log, deployment=site["dep"]).entries == 2
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[1])  # the first entry removed
    assert not rk.verify_audit_log(log, deployment=site["dep"]).ok
    with pytest.raises(RecoveryError, match="audit log"):
        rec.process_video(run["folder"] / "out.mp4", tmp_path / "third.mp4", audit_log=log)
    assert not (tmp_path / "third.mp4").exists()  # nothing decrypted, nothing written


def test_selection_and_key_mistakes_are_one_sentence_and_write_nothing(site, run, tmp_path):
    video = run["folder"] / "out.mp4"
    out = tmp_path / "never.mp4"
    rec = Recoverer(site["alice"], site["dep"])
    with pytest.raises(InputError, match="track 99 does not occur"):
        rec.process_video(video, out, tracks=[99])
    with pytest.raises(InputError, match="outside"):
        rec.process_video(video, out, start=100.0)
    with pytest.raises(ValueError, match="before it starts"):
        rec.process_video(video, out, start=2.0, end=1.0)
    with pytest.raises(RecoveryError, match="not a holder"):
        Recoverer(rk.generate_holder("mallory"), site["dep"])
    with pytest.raises(RecoveryError, match="deployment"):
        Recoverer(site["bob"], site["other"]).process_video(video, out, verify=False)
    with pytest.raises(OutputError):
        rec.process_video(video, video)
    assert not out.exists()


def test_tampered_or_swapped_originals_are_refused(site, run, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(run["folder"], folder)
    sealed = folder / "out.originals.sealed"
    data = bytearray(sealed.read_bytes())
    data[-40] ^= 0x01
    sealed.write_bytes(bytes(data))
    rec = Recoverer(site["alice"], site["dep"])
    with pytest.raises(VerificationError, match="not the sealed originals file the signed sidecar names"):
        rec.process_video(folder / "out.mp4", tmp_path / "x.mp4")
    with pytest.raises(rk.AuthenticationFailed):  # without verification, the AEAD still refuses
        rec.process_video(
            folder / "out.mp4", tmp_path / "x.mp4", verify=False, audit_log=tmp_path / "a.jsonl"
        )
    assert not (tmp_path / "x.mp4").exists()
    (folder / "out.pose.jsonl").write_text(
        (folder / "out.pose.jsonl").read_text().replace('"status":"ok"', '"status":"OK"', 1)
    )
    with pytest.raises(VerificationError, match="sidecar"):
        rec.process_video(folder / "out.mp4", tmp_path / "x.mp4")


def test_lossy_originals_are_close_and_much_smaller_than_lossless(site, tmp_path):
    lossy = anonymize(tmp_path / "lossy", site, lossless=False, signed=False)
    raw = [f.image for f in VideoSource(tmp_path / "lossy" / "in.mp4")]
    rec = Recoverer(site["alice"], site["dep"], audit_log=tmp_path / "audit.jsonl")
    frames = rec.recover(tmp_path / "lossy" / "out.mp4", verify=False)
    errors = []
    for (_, image, _), original, poses in zip(
        frames, raw, Sidecar(tmp_path / "lossy" / "out.pose.jsonl").frames(), strict=True
    ):
        inside = np.zeros(image.shape[:2], bool)
        for region in poses.people.region:
            inside |= region_mask(region)
        errors.append((image[inside].astype(float) - original[inside]) ** 2)
    psnr = 10 * np.log10(255**2 / np.concatenate(errors).mean())
    assert psnr > 36, psnr
    lossless = (tmp_path / "lossless").mkdir() or anonymize(
        tmp_path / "lossless", site, lossless=True, signed=False
    )
    assert lossy.originals_bytes < lossless.originals_bytes


def test_unsigned_outputs_are_refused_unless_verification_is_skipped(site, tmp_path):
    anonymize(tmp_path, site, signed=False)
    rec = Recoverer(site["alice"], site["dep"])
    with pytest.raises(VerificationError, match="does not verify"):
        rec.check(tmp_path / "out.mp4")
    inputs, mode = rec.check(tmp_path / "out.mp4", verify=False)
    inputs.close()
    assert mode == "exact" and not inputs.verified


def test_learned_recovery_with_a_sealed_gy_touches_only_the_selected_regions(site, run):
    from recanon_sdk.models import create_model
    from recanon_sdk.runtime.sealed_gy import open_sealed_gy, seal_gy

    bundle = seal_gy(
        create_model("gy_unet_s"),
        "gy_unet_s",
        bytes(range(32)),
        deployment=site["dep"],
        device_key=site["device"],
        input_size=(64, 32),
    )
    with pytest.raises(rk.WrongKey):
        open_sealed_gy(bundle, rk.generate_holder("eve"), site["dep"])
    gy = open_sealed_gy(bundle, site["alice"], site["dep"])
    rec = Recoverer(site["alice"], site["dep"], gy=gy, audit_log=run["folder"] / "lobby.audit.jsonl")
    inputs, mode = rec.check(run["folder"] / "out.mp4", exact=False)
    inputs.close()
    assert mode == "learned"
    chosen = int(run["poses"][-1].people.track_id[0])
    for (_, image, _), anon, poses in zip(
        rec.recover(run["folder"] / "out.mp4", exact=False, tracks=[chosen]),
        run["anon"],
        run["poses"],
        strict=True,
    ):
        outside = np.ones(image.shape[:2], bool)
        for tid, region in zip(poses.people.track_id, poses.people.region, strict=True):
            if tid == chosen:
                outside &= ~region_mask(region)
        assert np.array_equal(image[outside], anon[outside])


def test_missing_or_mismatched_sidecar_is_refused(site, run, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(run["folder"], folder)
    rec = Recoverer(site["alice"], site["dep"])
    other = anonymize(tmp_path / "other", site)  # another run of the same deployment
    shutil.copy(other.sidecar, folder / "out.pose.jsonl")
    with pytest.raises(VerificationError, match="sidecar"):
        rec.process_video(folder / "out.mp4", tmp_path / "x.mp4")
    (folder / "out.pose.jsonl").unlink()
    with pytest.raises(InputError, match=r"sidecar .* is missing"):
        rec.process_video(folder / "out.mp4", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_a_video_from_another_deployment_is_named(site, run, tmp_path):
    rec = Recoverer(site["bob"], site["other"])  # bob holds keys of both deployments
    with pytest.raises(RecoveryError, match=r"belongs to deployment .* not to 'garage'"):
        rec.process_video(run["folder"] / "out.mp4", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_open_takes_the_deployment_from_the_environment_or_says_what_is_missing(site, tmp_path, monkeypatch):
    rk.save_private_key(tmp_path / "alice.key", site["alice"], passphrase=None, unsafe_no_passphrase=True)
    (tmp_path / "lobby.deployment").write_bytes(site["dep"].to_bytes())
    monkeypatch.delenv("RECANON_DEPLOYMENT", raising=False)
    with pytest.raises(RecoveryError, match="no deployment given"):
        Recoverer.open(key=tmp_path / "alice.key")
    monkeypatch.setenv("RECANON_DEPLOYMENT", str(tmp_path / "lobby.deployment"))
    rec = Recoverer.open(key=tmp_path / "alice.key")
    assert rec.deployment.deployment_id == site["dep"].deployment_id
    assert rec.audit_log == tmp_path / "lobby.audit.jsonl"


def test_the_sdk_refuses_an_unprotected_holder_key_that_others_can_read(site, tmp_path):
    import os

    key = tmp_path / "alice.key"
    rk.save_private_key(key, site["alice"], passphrase=None, unsafe_no_passphrase=True)
    (tmp_path / "lobby.deployment").write_bytes(site["dep"].to_bytes())
    os.chmod(key, 0o644)
    with pytest.raises(RecoveryError, match="other users can read it"):
        Recoverer.open(key=key, deployment=tmp_path / "lobby.deployment")
    os.chmod(key, 0o600)
    assert Recoverer.open(key=key, deployment=tmp_path / "lobby.deployment").deployment is not None
