"""Embed recanon in your own capture loop: a camera, an rtsp:// stream or a file, frame by frame.

    python examples/frame_loop.py rtsp://10.0.0.5/stream --max-frames 300 -o cam.anon.mp4
    python examples/frame_loop.py examples/walking.mp4 --max-frames 20

Your app owns decoding and what happens to each anonymized frame (here: it is encoded to a file
and the people are counted); recanon only sees RGB arrays. Only anonymized frames leave the loop.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av
from recanon_sdk import Anonymizer, Frame
from recanon_sdk.video.writer import VideoSink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", help="camera device (e.g. /dev/video0), rtsp:// URL or video file")
    parser.add_argument("-o", "--output", default="frame_loop.anon.mp4")
    parser.add_argument("--max-frames", type=int, default=100)
    args = parser.parse_args()

    anonymizer = Anonymizer()
    options = {"rtsp_transport": "tcp"} if args.source.startswith("rtsp://") else {}
    with av.open(args.source, options=options) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 90000)
        with VideoSink(args.output, time_base=time_base, average_rate=stream.average_rate) as sink:
            for index, decoded in enumerate(container.decode(stream)):
                if index >= args.max_frames:
                    break
                rgb = decoded.to_ndarray(format="rgb24")
                anonymized, people = anonymizer.process_frame(rgb)
                sink.write(Frame(image=anonymized, pts=decoded.pts, time_base=time_base, index=index))
                tracks = [int(t) for t in people.track_id if t >= 0]
                print(f"frame {index}: {len(people)} people, tracks {tracks}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
