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
