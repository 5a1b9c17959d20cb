"""How strongly must a head be blurred? The packaged GX's head-pin σ against faces found and pose kept.

The packaged GX pins each known head to a Gaussian blur of σ = ``head_scale`` × the head box's
longer side (``PinConfig.head_scale``, 0.1 as trained; docs/models.md, "Pinned where the head is").
This benchmark changes only that number at inference, on the portraits ``recanon eval`` measures
(256×128, margin 0.15, heads from the stock P's face keypoints on the raw portrait, libx264 CRF 23
after GX), and prints for each σ scale, next to the shipped 0.1 measured in the same run:

* YuNet's face detection rate on GX's portraits whose raw portrait has a face (issue 4: ≤ 5 %);
* the OKS AP of ``--pose-weights`` on them (against the labels, or against the stock P on the raw
  portrait for the unlabelled INRIA folder), over every portrait and over the labelled sets only,
  and as a ratio to the shipped scale's.

GX was trained at 0.1: other scales show what the pin costs and buys, not what a GX trained at
that scale would do. The network, its keyed band and GY are unchanged.

    python benchmarks/head_pin_sweep.py                       # 0.1 0.15 0.2 on the default sets
    python benchmarks/head_pin_sweep.py --scales 0.1 0.3 --data coco:my.json
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk import evaluation as E
from recanon_sdk.enhance import make_enhancer
from recanon_sdk.training.data import shared_data_dir
from recanon_sdk.training.evaluate import x264_roundtrip

SIZE = (256, 128)


def default_sources(shared: Path) -> list[str]:
    """The labelled sets of ``../shared/data/pose_gt`` that have people at all in their frames at
    320 px (ExLPose's dark frames give the stock P nothing), and the INRIA folder (held out)."""
    gt = shared / "pose_gt"
    return [
        f"coco:{gt}/coco/test_coco.json",
        f"coco:{gt}/ochuman/test_ochuman.json",
        f"coco:{gt}/posetrack18/annotations/test_posetrack18_val.json:{gt}/posetrack18",
        f"coco:{gt}/aic/test_aic.json",
        f"coco:{gt}/crowdpose/test_crowdpose.json",
        f"coco:{gt}/mhp/test_mhp.json",
        f"mpii:{gt}/mpii/test_mpii.json",
        f"folder:{shared}/images/inria_person",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.15, 0.2])
    parser.add_argument("--data", action="append", help="KIND:PATH[:IMAGES] as recanon eval; repeatable")
    parser.add_argument("--heldout", type=float, default=0.1, help="folder sources: the held-out share")
    parser.add_argument("--pose-weights", default="yolo11n-pose-gx")
    parser.add_argument(
        "--yunet", default=str(shared_data_dir().parent / "models" / "face_detection_yunet_2026may.onnx")
    )
    parser.add_argument("--seed", type=int, default=0, help="the deployment secret, as recanon eval's")
    args = parser.parse_args()
    if not Path(args.yunet).is_file():
        raise SystemExit(f"YuNet not found at {args.yunet}: pass --yunet PATH")
    sources = args.data or default_sources(shared_data_dir())
    scales = [0.1] + [s for s in args.scales if s != 0.1]  # the shipped scale first: the baseline

    rng = np.random.default_rng(args.seed)
    secret = bytes(rng.integers(0, 256, 32, dtype=np.uint8))
    gx = make_enhancer("gx", model_secret=secret, gx_weights="gx-unet-s-keyed")
    trained = gx.model.pin.cfg
    sets = []
    for source in sources:
        records, labelled = E.source_records(source, 200, args.heldout)
        raw, truth = E.portrait_crops(records, SIZE)
        found = E.portrait_poses(raw, SIZE)
        reference = truth if labelled else E.teacher_keypoints(found)
        heads = [E.portrait_heads(people) for people in found]
        sets.append((source, labelled, raw, reference, heads, E.faces_found(raw, args.yunet)))
        print(f"{source}: {len(raw)} portraits, {sum(sets[-1][5])} with a raw face", flush=True)

    baseline = None
    print(f"\nP = {args.pose_weights}; GX trained at head_scale {trained.head_scale}")
    print("head_scale  faces found         OKS AP all (vs 0.1)   labelled (vs 0.1)   per source AP")
    for scale in scales:
        gx.model.pin.cfg = dataclasses.replace(trained, head_scale=scale)
        hits = with_face = 0
        ap_all = ap_labelled = n_all = n_labelled = 0.0
        per_source = []
        for source, labelled, raw, reference, heads, raw_faces in sets:
            out = x264_roundtrip(gx.enhance(list(raw), heads=heads), crf=23)
            found = E.faces_found(out, args.yunet)
            hits += sum(1 for r, f in zip(raw_faces, found, strict=True) if r and f)
            with_face += sum(raw_faces)
            ap, _ = E.oks_ap(reference, E.portrait_poses(out, SIZE, args.pose_weights), SIZE)
            ap_all += ap * len(raw)
            n_all += len(raw)
            if labelled:
                ap_labelled += ap * len(raw)
                n_labelled += len(raw)
            per_source.append(f"{Path(source.split(':')[1]).stem[:14]} {ap:.3f}")
        row = (ap_all / n_all, ap_labelled / n_labelled if n_labelled else float("nan"))
        baseline = baseline or row
        print(
            f"{scale:10.2f}  {hits:3d}/{with_face:<3d} = {hits / max(with_face, 1):5.1%}   "
            f"{row[0]:.3f} ({row[0] / baseline[0]:.2f}×)        {row[1]:.3f} ({row[1] / baseline[1]:.2f}×)"
            f"      {'; '.join(per_source)}",
            flush=True,
        )
    gx.model.pin.cfg = trained


if __name__ == "__main__":
    main()
