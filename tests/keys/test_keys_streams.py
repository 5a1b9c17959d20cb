"""Sealed streams (recanon-stream/v1): round trip, every byte tampered, every cut, wrong key/run."""

from __future__ import annotations

import io
import itertools

import make_vectors
import pytest
import recanon_keys as rk
from recanon_keys._format import sealed_stream as fmt

RECORDS = [b"frame 0: two regions", b"frame 1: " + bytes(range(256)) * 3, b"x"]


def _stream(fx, records=RECORDS, *, close: bool = True, rng=None) -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    writer = rk.SealedStreamWriter(
        buf,
        deployment=fx.lobby,
        content="originals/h264",
        meta={"width": 64, "height": 48, "codec": "libx264"},
        rng=rng or make_vectors.Drbg("stream-test"),
    )
    for record in records:
        writer.append(record)
    if close:
        writer.close()
    return buf.getvalue(), writer.run_id


@pytest.fixture(scope="module")
def sealed(fx) -> tuple[bytes, bytes]:
    return _stream(fx)


def _read(data: bytes, holder, fx, **kwargs) -> list[bytes]:
    return rk.open_stream(data, holder, deployment=fx.lobby, content="originals/h264", **kwargs).read_all()


def test_both_holders_read_every_record_and_the_header_says_what_it_holds(fx, sealed) -> None:
    data, run_id = sealed
    assert _read(data, fx.alice, fx) == RECORDS
    assert _read(data, fx.bob, fx, run_id=run_id) == RECORDS
    info = rk.read_stream_info(data)
    assert (info.deployment_id, info.content, info.run_id) == (
        fx.lobby.deployment_id,
        "originals/h264",
        run_id,
    )
    assert info.meta == {"width": 64, "height": 48, "codec": "libx264"}
    assert info.recipients == (fx.alice.key_id, fx.bob.key_id)
    # Layout: header, MAC, per record 4 + len + 16, final record 4 + 16.
    header_len = data.index(b"\n") + 1
    assert len(data) == header_len + 32 + sum(4 + len(r) + 16 for r in RECORDS) + 4 + 16
    for record in RECORDS[:2]:
        assert record not in data  # nothing in clear


def test_writing_is_incremental_and_the_file_grows_record_by_record(fx) -> None:
    buf = io.BytesIO()
    writer = rk.SealedStreamWriter(buf, deployment=fx.lobby, content="t")
    sizes = [len(buf.getvalue())]
    for record in RECORDS:
        writer.append(record)
        sizes.append(len(buf.getvalue()))
    assert [b - a for a, b in itertools.pairwise(sizes)] == [4 + len(r) + 16 for r in RECORDS]
    assert writer.records_written == 3 and writer.bytes_written == sizes[-1]


def test_a_stream_without_its_final_record_reads_as_truncated_after_the_good_records(fx) -> None:
    data, _ = _stream(fx, close=False)
    reader = rk.open_stream(data, fx.alice, deployment=fx.lobby, content=None)
    got = []
    with pytest.raises(rk.Truncated, match="truncated after 3 record"):
        for record in reader.records():
            got.append(record)
    assert got == RECORDS  # each released record was authentic
    with pytest.raises(rk.Truncated):
        rk.open_stream(data, fx.alice, deployment=fx.lobby, content=None).read_all()


def test_an_exception_inside_with_leaves_the_stream_unfinished(fx) -> None:
    buf = io.BytesIO()
    with pytest.raises(RuntimeError), rk.SealedStreamWriter(buf, deployment=fx.lobby, content="t") as writer:
        writer.append(b"a")
        raise RuntimeError("the camera went away")
    with pytest.raises(rk.Truncated):
        rk.open_stream(buf.getvalue(), fx.alice, deployment=fx.lobby, content="t").read_all()
    with pytest.raises(ValueError, match="closed"):
        writer.append(b"b")


def test_every_cut_is_detected(fx, sealed) -> None:
    data, _ = sealed
    for cut in range(len(data)):
        with pytest.raises(rk.InvalidFormat):  # Truncated is an InvalidFormat
            _read(data[:cut], fx.alice, fx)
    with pytest.raises(rk.InvalidFormat, match="after its final record"):
        _read(data + b"\x00", fx.alice, fx)


def test_every_flipped_byte_is_detected(fx, sealed) -> None:
    data, _ = sealed
    missed, outcomes = [], set()
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= mask
            try:
                _read(bytes(bad), fx.alice, fx)
            except rk.RecanonKeysError as exc:
                outcomes.add(type(exc))
            else:
                missed.append((i, mask))
    assert missed == []  # every one of the 3 x len(data) flips was refused
    # and the flips reached every layer: syntax, the header MAC / record tags, the record lengths
    assert {rk.InvalidFormat, rk.AuthenticationFailed} <= outcomes


_split = make_vectors.split_stream


def test_reordered_dropped_duplicated_or_spliced_records_fail(fx, sealed) -> None:
    data, _ = sealed
    head, records = _split(data)
    assert len(records) == 4
    variants = {
        "swap": [records[1], records[0], *records[2:]],
        "drop first": records[1:],
        "drop middle": [records[0], *records[2:]],
        "duplicate": [records[0], records[0], *records[1:]],
        "final early": [records[0], records[3]],
    }
    refused = {}
    for name, body in variants.items():
        with pytest.raises(rk.RecanonKeysError) as info:
            _read(head + b"".join(body), fx.alice, fx)
        refused[name] = type(info.value)
    # each is caught by the record nonces (counter and last-flag), not by some incidental parse error
    assert refused == dict.fromkeys(variants, rk.AuthenticationFailed)
    other, _ = _stream(fx, rng=make_vectors.Drbg("other"))  # same records, other data key
    other_head, other_records = _split(other)
    with pytest.raises(rk.AuthenticationFailed):
        _read(head + b"".join(other_records), fx.alice, fx)
    with pytest.raises(rk.AuthenticationFailed):
        _read(other_head + b"".join(records), fx.alice, fx)


def test_wrong_holder_deployment_content_or_run_is_named(fx, sealed) -> None:
    data, _ = sealed
    with pytest.raises(rk.WrongKey, match="sealed to holders alice"):
        _read(data, fx.carol, fx)
    with pytest.raises(rk.WrongDeployment):
        rk.open_stream(data, fx.carol, deployment=fx.garage, content=None)
    with pytest.raises(rk.WrongModel, match="holds 'originals/h264'"):
        rk.open_stream(data, fx.alice, deployment=fx.lobby, content="originals/other")
    with pytest.raises(rk.WrongModel, match="another run"):
        _read(data, fx.alice, fx, run_id=bytes(16))
    with pytest.raises(rk.WrongFileType):
        rk.open_stream(fx.lobby.to_bytes(), fx.alice, deployment=fx.lobby, content=None)


def test_a_removed_holder_cannot_read_streams_written_after_removal(fx) -> None:
    # lobby2 = alice + carol (bob removed): streams written for it are not sealed to bob.
    buf = io.BytesIO()
    with rk.SealedStreamWriter(buf, deployment=fx.lobby2, content="t") as writer:
        writer.append(b"after bob left")
    assert rk.open_stream(buf.getvalue(), fx.carol, deployment=fx.lobby2, content="t").read_all() == [
        b"after bob left"
    ]
    with pytest.raises(rk.WrongKey):
        rk.open_stream(buf.getvalue(), fx.bob, deployment=fx.lobby2, content="t")


def test_writer_refuses_bad_arguments(fx) -> None:
    buf = io.BytesIO()
    with pytest.raises(ValueError, match="content"):
        rk.SealedStreamWriter(buf, deployment=fx.lobby, content="Bad Content!")
    with pytest.raises(ValueError, match="integers only"):
        rk.SealedStreamWriter(buf, deployment=fx.lobby, content="t", meta={"fps": 29.97})
    with pytest.raises(ValueError, match="run_id"):
        rk.SealedStreamWriter(buf, deployment=fx.lobby, content="t", run_id=b"short")
    writer = rk.SealedStreamWriter(buf, deployment=fx.lobby, content="t")
    with pytest.raises(ValueError, match="1 to"):
        writer.append(b"")
    with pytest.raises(TypeError):
        writer.append("text")  # type: ignore[arg-type]


def test_inspect_shows_the_public_header(fx, sealed) -> None:
    data, run_id = sealed
    shown = rk.inspect_bytes(data)
    assert shown.kind == "stream"
    text = str(shown.rows if hasattr(shown, "rows") else shown)
    assert run_id.hex() in text and "originals/h264" in text


def test_hostile_length_prefix_is_bounded(fx, sealed) -> None:
    data, _ = sealed
    head, records = _split(data)
    huge = (fmt.MAX_RECORD + fmt.TAG_SIZE + 1).to_bytes(4, "big") + records[0][4:]
    with pytest.raises(rk.AuthenticationFailed):
        _read(head + huge, fx.alice, fx)
