from fractions import Fraction

import av
import numpy as np
import pytest
from recanon_sdk.errors import InputError, OutputError
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.writer import EncoderConfig, VideoSink

from tests.conftest import write_test_video, x264_threads


def copy_through(source_path, output_path, **sink_options):
    source = VideoSource(source_path)
    frames = list(source)
    with VideoSink(
        output_path,
        time_base=source.info.time_base,
        average_rate=source.info.average_rate,
        rotation=source.rotation,
        **sink_options,
    ) as sink:
        for frame in frames:
            sink.write(frame)
    return source, frames


def test_variable_frame_rate_timestamps_survive_exactly(tmp_path):
    pts = [0, 40, 80, 200, 210, 220, 500, 540, 1000, 1033]  # gaps and bursts: variable frame rate
    write_test_video(tmp_path / "vfr.mp4", pts)
    _source, frames = copy_through(tmp_path / "vfr.mp4", tmp_path / "out.mp4")
    assert [f.pts * f.time_base for f in frames] == [Fraction(p, 1000) for p in pts]
    again = list(VideoSource(tmp_path / "out.mp4"))
    assert [f.seconds for f in again] == [f.seconds for f in frames]
    assert len(again) == len(pts)


def test_first_timestamp_offset_survives(tmp_path):
    pts = [5000 + 40 * i for i in range(8)]
    write_test_video(tmp_path / "late.mkv", pts)
    _, frames = copy_through(tmp_path / "late.mkv", tmp_path / "out.mkv")
    again = list(VideoSource(tmp_path / "out.mkv"))
    assert [f.seconds for f in again] == [f.seconds for f in frames]
    assert again[0].seconds == pytest.approx(5.0)


def test_odd_resolution_is_kept(tmp_path):
    write_test_video(tmp_path / "odd.mkv", list(range(0, 200, 40)), size=(97, 131), codec="libx264rgb")
    copy_through(tmp_path / "odd.mkv", tmp_path / "out.mp4")
    info = VideoSource(tmp_path / "out.mp4").info
    assert (info.width, info.height) == (131, 97)


def test_rotation_is_restored_and_frames_are_upright(tmp_path):
    frames_written = write_test_video(
        tmp_path / "rot.mp4", list(range(0, 200, 40)), size=(64, 96), rotation=90
    )
    source, frames = copy_through(tmp_path / "rot.mp4", tmp_path / "out.mp4")
    assert source.rotation == 90
    assert frames[0].image.shape == (96, 64, 3)  # turned upright for processing
    reread = VideoSource(tmp_path / "out.mp4")
    out_frames = list(reread)
    assert reread.rotation == 90
    assert out_frames[0].image.shape == (96, 64, 3)
    # Upright is the stored picture turned 90° counter-clockwise (a display matrix of +90°, as
    # FFmpeg's -display_rotation 90 means it): checked against the pixels written, not the reader.
    assert frames_written[0].shape == (64, 96, 3)
    upright = np.rot90(frames_written[0], k=1).astype(int)
    for image in (frames[0].image, out_frames[0].image):
        assert np.abs(image.astype(int) - upright).mean() < 12
        assert np.abs(image.astype(int) - np.rot90(frames_written[0], k=-1)).mean() > 30


def test_audio_is_dropped_by_default_and_copied_on_request(tmp_path):
    write_test_video(tmp_path / "a.mp4", [i * 40 for i in range(25)], audio_seconds=1.0)
    copy_through(tmp_path / "a.mp4", tmp_path / "silent.mp4")
    with av.open(str(tmp_path / "silent.mp4")) as container:
        assert not container.streams.audio
    copy_through(tmp_path / "a.mp4", tmp_path / "voiced.mp4", audio_from=tmp_path / "a.mp4")
    with av.open(str(tmp_path / "voiced.mp4")) as container:
        assert len(container.streams.audio) == 1
        packets = [p for p in container.demux(container.streams.audio[0]) if p.size]
        assert len(packets) > 40  # about 47 AAC packets for one second at 48 kHz


def test_truncated_stream_is_processed_as_far_as_it_decodes(tmp_path):
    write_test_video(tmp_path / "full.mkv", [i * 40 for i in range(60)], size=(120, 160))
    data = (tmp_path / "full.mkv").read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 6 // 10])
    _source, frames = copy_through(tmp_path / "cut.mkv", tmp_path / "out.mp4")
    assert 5 < len(frames) < 60
    assert len(list(VideoSource(tmp_path / "out.mp4"))) == len(frames)  # finalized and playable


def test_output_is_atomic_and_aborted_output_leaves_nothing(tmp_path):
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(5)])
    source = VideoSource(tmp_path / "in.mp4")
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoSink(target, time_base=source.info.time_base) as sink:
        for frame in source:
            sink.write(frame)
            assert not target.exists()
            raise RuntimeError("simulated crash")
    assert list(tmp_path.iterdir()) == [tmp_path / "in.mp4"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"hello, not a video" * 10, "not a video"), (b"\x00" * 4096, "not a video")],
)
def test_bad_inputs_raise_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        VideoSource(path)


def test_missing_input_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        VideoSource(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="no image files"):
        VideoSource(tmp_path)


def test_folder_of_images_is_a_source(tmp_path):
    for i in range(3):
        av.VideoFrame.from_ndarray(np.full((32, 48, 3), 40 * i, np.uint8), format="rgb24").to_image().save(
            tmp_path / f"img{i}.png"
        )
    source = VideoSource(tmp_path)
    frames = list(source)
    assert source.info.kind == "images" and len(frames) == 3
    assert [f.index for f in frames] == [0, 1, 2] and frames[2].image[0, 0, 0] == 80


def test_unknown_container_and_codec(tmp_path):
    with pytest.raises(OutputError, match="container format"):
        VideoSink(tmp_path / "out.xyz", time_base=Fraction(1, 25))
    with pytest.raises(OutputError, match="not available"):
        VideoSink(tmp_path / "out.mp4", time_base=Fraction(1, 25), config=EncoderConfig(codec="nonesuch"))


def test_pixel_aspect_ratio_is_kept(tmp_path):
    path = tmp_path / "anamorphic.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(4, 3)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    source = VideoSource(path)
    assert source.info.sample_aspect_ratio == Fraction(4, 3)
    copy_through(path, tmp_path / "out.mp4", sample_aspect_ratio=source.info.sample_aspect_ratio)
    assert VideoSource(tmp_path / "out.mp4").info.sample_aspect_ratio == Fraction(4, 3)


def test_a_sink_whose_encoder_failed_to_open_refuses_more_frames(tmp_path):
    """The container opened but the stream's setup failed (a pixel format FFmpeg does not know): the
    next write and finalize say so with a RuntimeError (not an AssertionError, gone under -O)."""
    from recanon_sdk.types import Frame

    sink = VideoSink(
        tmp_path / "out.mp4", time_base=Fraction(1, 25), config=EncoderConfig(pix_fmt="nonsense")
    )
    frame = Frame(np.zeros((32, 32, 3), np.uint8), 0, Fraction(1, 25), 0)
    with pytest.raises(ValueError):
        sink.write(frame)
    with pytest.raises(RuntimeError, match="half set up"):
        sink.write(frame)
    with pytest.raises(RuntimeError, match="half set up"):
        sink.finalize()
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_x264_encodes_on_one_thread_and_gives_the_same_bytes_for_the_same_frames(tmp_path):
    """Several x264 threads gave outputs that differed run to run (up to 12 grey levels) while the
    pose model ran beside the encoder; one thread makes the output a function of the frames."""
    write_test_video(tmp_path / "in.mp4", list(range(0, 1200, 40)), size=(432, 768))
    copy_through(tmp_path / "in.mp4", tmp_path / "a.mp4")
    copy_through(tmp_path / "in.mp4", tmp_path / "b.mp4")
    assert x264_threads(tmp_path / "a.mp4") == b"threads=1"
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_encoder_threads_zero_lets_x264_choose(tmp_path):
    write_test_video(tmp_path / "in.mp4", list(range(0, 400, 40)), size=(432, 768))  # x264 gives small
    copy_through(tmp_path / "in.mp4", tmp_path / "auto.mp4", config=EncoderConfig(threads=0))  # frames 1
    assert x264_threads(tmp_path / "auto.mp4") != b"threads=1"  # x264's own count
    with pytest.raises(ValueError, match="encoder threads"):
        EncoderConfig(threads=-1)
