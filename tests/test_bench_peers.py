"""The deface comparison's clips: the one-frame clip that times each tool's start-up."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED, load_script, need_shared

pytestmark = pytest.mark.shared


def test_the_one_frame_clip_alone_is_prepared_when_no_other_clip_is_asked_for(tmp_path):
    need_shared(SHARED / "data" / "videos" / "intel" / "classroom.gif")
    module = load_script("benchmarks/bench_peers.py")
    from recanon_sdk.video.reader import VideoSource

    clips = module.prepare_clips(tmp_path, 0, "", one_frame=True)
    assert list(clips) == ["one-frame-480x270"]
    path, frames = clips["one-frame-480x270"]
    images = [frame.image for frame in VideoSource(path)]
    assert frames == 1 and len(images) == 1 and images[0].shape == (270, 480, 3)
