"""Exact recovery of a run under a hiding policy: the sidecar's regions are what was hidden (a head, or
nothing for someone left visible), and exactly those come back, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Pixelate
from recanon_sdk.originals import OriginalsConfig
from recanon_sdk.policy import PrivacyWarning
from recanon_sdk.recoverer import Recoverer
from recanon_sdk.signing import RunSigner
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import write_test_video

LEFT = (8.0, 16.0, 60.0, 110.0)
RIGHT = (100.0, 16.0, 152.0, 110.0)
FRAMES = 8


def _keypoints(box):
    x0, y0, x1, y1 = box
    cx, h = (x0 + x1) / 2, y1 - y0
    points = np.zeros((17, 3), np.float32)
    points[0] = (cx, y0 + 0.08 * h, 0.9)
    points[1:3] = [(cx - 3, y0 + 0.06 * h, 0.9), (cx + 3, y0 + 0.06 * h, 0.9)]
    points[5:7] = [(cx - 12, y0 + 0.2 * h, 0.9), (cx + 12, y0 + 0.2 * h, 0.9)]
    points[11:13] = [(cx - 8, y0 + 0.55 * h, 0.9), (cx + 8, y0 + 0.55 * h, 0.9)]
    points[13:15] = [(cx - 8, y0 + 0.78 * h, 0.9), (cx + 8, y0 + 0.78 * h, 0.9)]
    return points


class TwoPeople:
    def detect(self, images):
        boxes = np.array([LEFT, RIGHT], np.float32)
        keypoints = np.stack([_keypoints(LEFT), _keypoints(RIGHT)])
        return [People(xyxy=boxes, score=[0.9, 0.9], keypoints=keypoints) for _ in images]


def test_exact_recovery_restores_head_regions_and_leaves_kept_people_alone(tmp_path):
    device = rk.generate_device_key("cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(FRAMES)], size=(120, 160))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        anon = Anonymizer(
            AnonymizerConfig(batch_size=3),
            detector=TwoPeople(),
            enhancer=Pixelate(),
            region="head",
            keep_tracks={2},
        )
    anon.process_video(
        tmp_path / "in.mp4",
        tmp_path / "out.mp4",
        signer=RunSigner(device, dep),
        seal_originals_to=dep,
        originals_config=OriginalsConfig(lossless=True),
    )
    raw = [f.image for f in VideoSource(tmp_path / "in.mp4")]
    out = [f.image for f in VideoSource(tmp_path / "out.mp4")]
    poses = list(Sidecar(tmp_path / "out.pose.jsonl").frames())
    rec = Recoverer(alice, dep, audit_log=tmp_path / "lobby.audit.jsonl")
    frames = list(rec.recover(tmp_path / "out.mp4"))
    kept = 0
    for (_, image, _), before, after, frame in zip(frames, raw, out, poses, strict=True):
        inside = np.zeros(image.shape[:2], bool)
        for (x0, y0, x1, y1), track in zip(frame.people.region, frame.people.track_id, strict=True):
            inside[y0:y1, x0:x1] = True
            if track == 2:
                assert (x0, y0, x1, y1) == (0, 0, 0, 0), "a kept person has no region"
                kept += 1
        left_head = frame.people.region[0]
        assert (left_head[3] - left_head[1]) < 0.6 * (LEFT[3] - LEFT[1]), "only the head is hidden"
        assert np.array_equal(image[inside], before[inside]), "the hidden regions come back exactly"
        assert np.array_equal(image[~inside], after[~inside]), "nothing else is touched"
    assert kept >= FRAMES - 2
