"""Pinned files: what is read after a check is exactly what the check read, or an error."""

from __future__ import annotations

import io
import os

import pytest
from recanon_sdk.pinned import BLOCK_SIZE, FileChanged, PinnedFile, PinnedFiles


@pytest.fixture
def data():
    return os.urandom(6 * BLOCK_SIZE + 123)


def test_readers_see_the_pinned_bytes_and_seek_anywhere(tmp_path, data):
    path = tmp_path / "v.bin"
    path.write_bytes(data)
    pinned = PinnedFile(path)
    reader = pinned.reader()
    assert reader.read() == data
    assert reader.seek(-5, io.SEEK_END) == len(data) - 5 and reader.read() == data[-5:]
    other = pinned.reader()
    other.seek(BLOCK_SIZE - 2)
    assert other.read(4) == data[BLOCK_SIZE - 2 : BLOCK_SIZE + 2]  # across a block boundary
    assert pinned.size == len(data)
    pinned.check_unchanged()
    pinned.close()


def test_a_block_rewritten_in_place_after_it_was_read_is_refused(tmp_path, data):
    path = tmp_path / "v.bin"
    path.write_bytes(data)
    pinned = PinnedFile(path)
    assert pinned.reader().read() == data  # block 0 has left the small cache since
    with open(path, "r+b") as handle:
        handle.write(b"X")
    with pytest.raises(FileChanged, match="changed on disk after it was verified"):
        pinned.reader().read(10)
    with pytest.raises(FileChanged):
        pinned.check_unchanged()


def test_a_file_renamed_over_is_not_read_and_is_refused_at_the_end(tmp_path, data):
    path = tmp_path / "v.bin"
    path.write_bytes(data)
    files = PinnedFiles()
    assert files.open(path).read(100) == data[:100]
    (tmp_path / "other.bin").write_bytes(b"another video")
    (tmp_path / "other.bin").replace(path)
    assert files.open(path).read() == data  # still the first file's bytes, never the new one's
    with pytest.raises(FileChanged):
        files.check_unchanged()
    files.close()


def test_a_file_that_grows_stays_pinned_at_the_length_first_read(tmp_path):
    path = tmp_path / "v.bin"
    path.write_bytes(b"short")
    pinned = PinnedFile(path)
    assert pinned.reader().read() == b"short"
    with open(path, "ab") as handle:
        handle.write(b" and longer")
    assert pinned.reader().read() == b"short"  # the length first read, not the new one
    with pytest.raises(FileChanged):
        pinned.check_unchanged()


def test_only_regular_files_are_pinned(tmp_path):
    with pytest.raises(OSError):
        PinnedFile(tmp_path)
    with pytest.raises(FileNotFoundError):
        PinnedFile(tmp_path / "missing")


def test_a_video_rewritten_while_ffmpeg_reads_it_is_caught_even_if_ffmpeg_swallows_the_error(tmp_path):
    import av
    import numpy as np
    from recanon_sdk.recovery.restore import PinnedVideoSource

    path = tmp_path / "noise.mkv"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:  # lossless noise: megabytes in a few frames
        stream = container.add_stream("libx264rgb", rate=25, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "rgb24"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (240, 320, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    size = path.stat().st_size
    assert size > 5 * BLOCK_SIZE  # more blocks than the cache holds
    files = PinnedFiles()
    files.open(path).read()  # the check: every block hashed
    clean = [f.image for f in PinnedVideoSource(path, files)]
    with open(path, "r+b") as handle:  # rewritten in place after the check, past the header
        handle.seek(3 * BLOCK_SIZE)
        handle.write(np.random.default_rng(1).integers(0, 256, BLOCK_SIZE, np.uint8).tobytes())
    seen = []
    with pytest.raises(FileChanged):  # raised through FFmpeg, or, where FFmpeg ends quietly, after
        for frame in PinnedVideoSource(path, files):
            seen.append(frame.image)
        files.raise_if_changed()
    assert all(np.array_equal(a, b) for a, b in zip(seen, clean, strict=False))  # never the new bytes
    with pytest.raises(FileChanged):
        files.raise_if_changed()
    files.close()
