"""Anonymize every video in a folder into another folder; a failed input is reported, never skipped silently.

    python examples/batch_folder.py footage/ anonymized/
    python examples/batch_folder.py footage/ anonymized/ --enhancer pixelate --overwrite

Exit status 0 only if every video was anonymized; the summary names each failure and why.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recanon_sdk import Anonymizer, AnonymizerConfig
from recanon_sdk.errors import RecanonError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".gif"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input_folder", type=Path)
    parser.add_argument("output_folder", type=Path)
    parser.add_argument("--enhancer", default="blur", choices=["blur", "pixelate", "mask"])
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args()

    videos = sorted(p for p in args.input_folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        print(f"no videos in {args.input_folder}", file=sys.stderr)
        return 1
    args.output_folder.mkdir(parents=True, exist_ok=True)
    anonymizer = Anonymizer(AnonymizerConfig(enhancer=args.enhancer))  # the model loads once
    failures = []
    for video in videos:
        output = args.output_folder / f"{video.stem}.anon.mp4"
        try:
            result = anonymizer.process_video(
                video, output, overwrite=args.overwrite, max_frames=args.max_frames
            )
        except RecanonError as error:
            failures.append((video, error.message))
            print(f"FAILED {video.name}: {error.message}", file=sys.stderr)
            continue
        print(
            f"ok     {video.name}: {result.frames} frames, {result.persons} person detections, "
            f"{result.obscured_frames} frames failed closed → {output}"
        )
    print(f"{len(videos) - len(failures)} of {len(videos)} videos anonymized")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
