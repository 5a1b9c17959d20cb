"""Recovery refuses what it cannot vouch for, and restores no one it should not.

Another run's files under this output's name, a video swapped between the check and the use, a
recovery with no audit log, overlapping people and frames that failed closed.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Pixelate
from recanon_sdk.errors import RecanonError
from recanon_sdk.originals import OriginalsConfig
from recanon_sdk.recoverer import Recoverer, RecoveryError, Selection, VerificationError
from recanon_sdk.signing import RunSigner
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import write_test_video

FRAMES = 12
FAILING_FRAME = 5


class Boxes:
    """The same people in every frame; ``fail_at``: the detector raises on that call (one frame per call)."""

    def __init__(self, boxes, fail_at=None):
        self.boxes = np.array(boxes, np.float32)
        self.fail_at = fail_at
        self.calls = 0

    def detect(self, images):
        self.calls += 1
        if self.calls - 1 == self.fail_at:
            raise RuntimeError("the detector failed on this frame")
        score = np.full(len(self.boxes), 0.9, np.float32)
        return [People(xyxy=self.boxes.copy(), score=score.copy()) for _ in images]


APART = [[8, 16, 60, 100], [100, 16, 152, 100]]
OVERLAPPING = [[20, 16, 84, 100], [60, 16, 124, 100]]


@pytest.fixture(scope="module")
def site():
    device = rk.generate_device_key("cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    return {"device": device, "alice": alice, "dep": dep}


def anonymize(folder, site, name="out.mp4", boxes=APART, fail_at=None, seed_shift=0):
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"in-{name}"
    write_test_video(source, [i * 40 for i in range(FRAMES)], size=(120, 160))
    if seed_shift:  # another recording: other pixels
        frames = [np.roll(f.image, seed_shift, axis=0) for f in VideoSource(source)]
        _write_frames(source, frames)
    batch = 1 if fail_at is not None else 3  # one frame per detector call: fail_at is a frame index
    anonymizer = Anonymizer(  # the detector on every frame: ``fail_at`` counts its calls
        AnonymizerConfig(batch_size=batch),
        detector=Boxes(boxes, fail_at),
        enhancer=Pixelate(),
        detect_every=1,
    )
    return anonymizer.process_video(
        source,
        folder / name,
        signer=RunSigner(site["device"], site["dep"]),
        seal_originals_to=site["dep"],
        originals_config=OriginalsConfig(lossless=True),
    )


def _write_frames(path, frames):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def companions(name):
    stem = name.rsplit(".", 1)[0]
    return [f"{name}", f"{stem}.pose.jsonl", f"{stem}.pose.jsonl.sig", f"{stem}.manifest.json"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("runs")
    anonymize(folder / "monday", site, "monday.anon.mp4")
    anonymize(folder / "tuesday", site, "tuesday.anon.mp4", seed_shift=24)
    return folder


def frames_of(path):
    return [f.image for f in VideoSource(path)]


# -- another run's files under this output's name ------------------------------------------------


def test_another_runs_files_under_this_name_are_refused_unless_renaming_is_allowed(site, runs, tmp_path):
    target = tmp_path / "monday.anon.mp4"
    for ours, theirs in zip(companions("monday.anon.mp4"), companions("tuesday.anon.mp4"), strict=True):
        shutil.copy(runs / "tuesday" / theirs, tmp_path / ours)
    shutil.copy(runs / "tuesday" / "tuesday.anon.originals.sealed", tmp_path)
    rec, log = Recoverer(site["alice"], site["dep"]), tmp_path / "audit.jsonl"
    with pytest.raises(VerificationError, match=r"signed as 'tuesday\.anon\.mp4'"):
        rec.process_video(target, tmp_path / "x.mp4", audit_log=log)
    assert not (tmp_path / "x.mp4").exists() and not log.exists()
    result = rec.process_video(target, tmp_path / "x.mp4", audit_log=log, allow_rename=True)
    assert (
        result.signed.output_name == "tuesday.anon.mp4" and result.signed.input_name == "in-tuesday.anon.mp4"
    )
    assert result.signed.frames == FRAMES


# -- every recovery is logged first, or refused ----------------------------------------------------


def test_a_recoverer_without_an_audit_log_recovers_nothing(site, runs, tmp_path):
    video = runs / "monday" / "monday.anon.mp4"
    rec = Recoverer.open(key=site["alice"], deployment=site["dep"])  # objects: no file to keep a log by
    with pytest.raises(RecoveryError, match="audit log"):
        rec.process_video(video, tmp_path / "x.mp4")
    with pytest.raises(RecoveryError, match="audit log"):
        next(iter(rec.recover(video)))
    assert not (tmp_path / "x.mp4").exists()
    inputs, mode = rec.check(video)  # checking is fine; recovering what was only checked is not
    try:
        with pytest.raises(RecoveryError, match="not logged"):
            next(iter(rec.recover_frames(inputs, mode, Selection())))
    finally:
        inputs.close()
    log = tmp_path / "lobby.audit.jsonl"
    rec = Recoverer.open(key=site["alice"], deployment=site["dep"], audit_log=log)
    assert rec.process_video(video, tmp_path / "x.mp4").audit_entry == 1
    assert rk.verify_audit_log(log, deployment=site["dep"]).entries == 1


# -- what is recovered is what was verified ----------------------------------------------------------


@pytest.mark.parametrize("swap", ["rename over", "rewrite in place"])
def test_a_video_swapped_after_the_check_is_refused(site, runs, tmp_path, monkeypatch, swap):
    folder = tmp_path / "copy"
    shutil.copytree(runs / "monday", folder)
    video = folder / "monday.anon.mp4"
    other = (runs / "tuesday" / "tuesday.anon.mp4").read_bytes()
    append = rk.append_audit_entry

    def append_then_swap(*args, **kwargs):  # the moment between the check (and audit) and the use
        entry = append(*args, **kwargs)
        if swap == "rename over":
            (folder / "swap.tmp").write_bytes(other)
            (folder / "swap.tmp").replace(video)
        else:
            with open(video, "r+b") as handle:
                handle.write(other)
                handle.truncate()
        return entry

    monkeypatch.setattr(rk, "append_audit_entry", append_then_swap)
    rec = Recoverer(site["alice"], site["dep"])
    with pytest.raises(RecanonError, match="changed on disk"):
        rec.process_video(video, tmp_path / "x.mp4", audit_log=tmp_path / "audit.jsonl")
    assert not (tmp_path / "x.mp4").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nothing left behind


def test_frames_in_memory_come_from_the_verified_bytes_or_not_at_all(site, runs, tmp_path, monkeypatch):
    folder = tmp_path / "copy"
    shutil.copytree(runs / "monday", folder)
    video = folder / "monday.anon.mp4"
    append = rk.append_audit_entry

    def append_then_rewrite(*args, **kwargs):
        entry = append(*args, **kwargs)
        video.write_bytes((runs / "tuesday" / "tuesday.anon.mp4").read_bytes())  # same inode, new bytes
        return entry

    monkeypatch.setattr(rk, "append_audit_entry", append_then_rewrite)
    frames = Recoverer(site["alice"], site["dep"]).recover(video, audit_log=tmp_path / "audit.jsonl")
    seen = []
    with pytest.raises(RecanonError, match="changed on disk"):
        for frame, _image, _restored in frames:
            seen.append(frame.image)
    monday = frames_of(runs / "monday" / "monday.anon.mp4")
    assert all(np.array_equal(a, b) for a, b in zip(seen, monday, strict=False))  # never tuesday's


# -- overlap and failed-closed rules ---------------------------------------------------------------


def region_mask(region, shape=(120, 160)):
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = region
    mask[y0:y1, x0:x1] = True
    return mask


def test_a_selected_person_is_not_restored_where_another_persons_region_overlaps(site, tmp_path):
    anonymize(tmp_path, site, "out.mp4", boxes=OVERLAPPING)
    raw, anon = frames_of(tmp_path / "in-out.mp4"), frames_of(tmp_path / "out.mp4")
    poses = list(Sidecar(tmp_path / "out.pose.jsonl").frames())
    chosen = int(poses[-1].people.track_id[0])
    rec, log = Recoverer(site["alice"], site["dep"]), tmp_path / "audit.jsonl"
    recovered = rec.recover(tmp_path / "out.mp4", tracks=[chosen], audit_log=log)
    overlapping = 0
    for (_f, image, _r), r, a, p in zip(recovered, raw, anon, poses, strict=True):
        mine = np.zeros(image.shape[:2], bool)
        theirs = np.zeros(image.shape[:2], bool)
        for tid, region in zip(p.people.track_id, p.people.region, strict=True):
            (mine if tid == chosen else theirs).__ior__(region_mask(region))
        if not mine.any():
            continue
        overlap = mine & theirs
        assert overlap.any() and not np.array_equal(a[overlap], r[overlap])  # the test can tell them apart
        assert np.array_equal(image[overlap], a[overlap])  # the neighbour stays anonymized
        assert np.array_equal(image[mine & ~theirs], r[mine & ~theirs])  # the rest of the person comes back
        assert np.array_equal(image[~mine], a[~mine])
        overlapping += 1
    assert overlapping >= FRAMES - 2


def test_a_frame_that_failed_closed_stays_obscured_when_tracks_are_selected(site, tmp_path):
    anonymize(tmp_path, site, "out.mp4", fail_at=FAILING_FRAME)
    raw, anon = frames_of(tmp_path / "in-out.mp4"), frames_of(tmp_path / "out.mp4")
    poses = list(Sidecar(tmp_path / "out.pose.jsonl").frames())
    assert [p.index for p in poses if p.status != "ok"] == [FAILING_FRAME]
    assert not np.array_equal(anon[FAILING_FRAME], raw[FAILING_FRAME])
    tracks = sorted({int(t) for p in poses for t in p.people.track_id if t >= 0})
    rec, log = Recoverer(site["alice"], site["dep"]), tmp_path / "audit.jsonl"
    frames = list(rec.recover(tmp_path / "out.mp4", tracks=tracks, audit_log=log))  # everyone, by track
    _, image, restored = frames[FAILING_FRAME]
    assert len(restored) == 0 and np.array_equal(image, anon[FAILING_FRAME])
    assert sum(len(r) for _, _, r in frames) >= 2 * (FRAMES - 3)  # the other frames were restored
    everyone = list(rec.recover(tmp_path / "out.mp4", audit_log=log))  # nobody in particular: whole frame
    assert np.array_equal(everyone[FAILING_FRAME][1], raw[FAILING_FRAME])
