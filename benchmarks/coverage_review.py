"""Look at every coverage miss, and apply the reviewed verdicts on reference detections.

``coverage.py`` counts as a person every confident detection of the strongest reference setting.
Some are not people (a box on an empty wall). This script draws every miss (the input frame, the
reference box in red, the anonymized regions of that frame in green) into one contact sheet so a
person can look, and applies ``coverage_reviewed.json``: reference boxes a person has reviewed as
*not a person*, each with its reason. It prints both numbers; the raw one is never hidden.

    python benchmarks/coverage.py --every 8 --json cov.json --workdir /tmp/cov
    python benchmarks/coverage_review.py cov.json --workdir /tmp/cov --sheet misses.png
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
REVIEWED = Path(__file__).with_name("coverage_reviewed.json")


def iou(a: list[float], b: list[float]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def verdict(miss: dict, reviewed: list[dict]) -> dict | None:
    for item in reviewed:
        if item["clip"] == miss["clip"] and iou(item["box"], miss["box"]) >= item.get("min_iou", 0.8):
            return item
    return None


def sheet(misses: list[dict], workdir: Path, path: Path, width: int = 480) -> None:
    tiles = []
    by_clip: dict[str, list[dict]] = {}
    for miss in misses:
        by_clip.setdefault(miss["clip"], []).append(miss)
    for clip, items in by_clip.items():
        stem = Path(clip).stem
        poses = {p.index: p for p in Sidecar(workdir / f"{stem}.anon.pose.jsonl").frames()}
        wanted = {m["frame"]: m for m in items}
        for frame in VideoSource(SHARED / "data" / "videos" / "intel" / clip):
            if frame.index not in wanted:
                continue
            image = np.ascontiguousarray(frame.image[:, :, ::-1])
            for x0, y0, x1, y1 in poses[frame.index].people.region:
                cv2.rectangle(image, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), (0, 255, 0), 2)
            b = wanted[frame.index]["box"]
            cv2.rectangle(image, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (0, 0, 255), 2)
            scale = width / image.shape[1]
            image = cv2.resize(image, (width, round(image.shape[0] * scale)))
            label = f"{stem[:28]} #{frame.index} {wanted[frame.index].get('verdict', 'MISS')}"
            cv2.putText(image, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
            tiles.append(image)
    if not tiles:
        return
    height = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    while len(tiles) % 3:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + 3]) for i in range(0, len(tiles), 3)]
    cv2.imwrite(str(path), np.vstack(rows))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("result", type=Path, help="the --json output of coverage.py")
    parser.add_argument("--workdir", type=Path, required=True, help="the --workdir of that run")
    parser.add_argument("--reviewed", type=Path, default=REVIEWED)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of every miss (PNG)")
    parser.add_argument("--target", type=float, default=0.99)
    args = parser.parse_args()
    result = json.loads(args.result.read_text())
    reviewed = json.loads(args.reviewed.read_text())["reviewed"] if args.reviewed.exists() else []
    not_people = covered_on_review = 0
    for miss in result["misses"]:
        found = verdict(miss, reviewed)
        miss["verdict"] = f"{found['verdict']} (reviewed)" if found else "MISS"
        not_people += found is not None and found["verdict"] == "not a person"
        covered_on_review += found is not None and found["verdict"] == "person covered"
        print(f"{miss['clip']:44s} frame {miss['frame']:5d} box {miss['box']} covered {miss['covered']:.2f}  "
              f"{miss['verdict']}")  # fmt: skip
    total, covered = result["total"], result["covered"]
    print(f"\nraw:      {covered}/{total} = {100 * covered / total:.2f} % of reference detections covered")
    people = total - not_people
    covered += covered_on_review
    rate = covered / people
    print(
        f"reviewed: {covered}/{people} = {100 * rate:.2f} % of reference people covered "
        f"({not_people} reference detections reviewed as not a person, {covered_on_review} as a person "
        f"covered by their own region; target {100 * args.target:.0f} %)"
    )
    if args.sheet:
        sheet(result["misses"], args.workdir, args.sheet)
        print(f"contact sheet of the misses: {args.sheet}")
    return 0 if rate >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
