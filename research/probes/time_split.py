"""Where an anonymize run's time goes: full detections, the crop pass, the look at motion, the rest.

Runs :class:`recanon_sdk.Anonymizer` with its defaults on each clip in this process and prints the
time to import and load the model, then the run's wall time split by step (each step's calls and
seconds; "rest" is decoding, optical flow, tracking, rendering, encoding and the sidecar).

    python research/probes/time_split.py examples/walking.mp4 CLIP.gif …
    python research/probes/time_split.py --option still_detect_every=0 CLIP.gif …

``--option NAME=VALUE`` (repeatable) sets one of the Anonymizer's options (an integer or a float
where the value reads as one).
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

started = time.perf_counter()
import recanon_sdk.anonymizer as anonymizer_module  # noqa: E402
from recanon_sdk.anonymizer import Anonymizer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("clips", type=Path, nargs="+")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    anonymizer = Anonymizer(**dict(_option(text) for text in args.option))
    print(f"imports and model: {time.perf_counter() - started:.2f} s")
    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()

    def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*arguments: Any, **options: Any) -> Any:
            begun = time.perf_counter()
            try:
                return step(*arguments, **options)
            finally:
                spent[name] += time.perf_counter() - begun
                calls[name] += 1

        return run

    anonymizer.detector.detect = timed("full detection", anonymizer.detector.detect)
    anonymizer_module.crop_pass = timed("crop pass", anonymizer_module.crop_pass)
    anonymizer_module.look_at_motion = timed("look at motion", anonymizer_module.look_at_motion)
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            spent.clear()
            calls.clear()
            anonymizer.reset()
            begun = time.perf_counter()
            result = anonymizer.process_video(clip, Path(tmp) / "out.mp4", overwrite=True)
            total = time.perf_counter() - begun
            steps = ", ".join(f"{name} {calls[name]}× {seconds:.2f} s" for name, seconds in spent.items())
            rest = total - sum(spent.values())
            print(f"{clip.name}: {result.frames} frames in {total:.2f} s: {steps}, rest {rest:.2f} s")
    return 0


def _option(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


if __name__ == "__main__":
    raise SystemExit(main())
