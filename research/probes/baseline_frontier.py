"""Does GX beat blur and pixelation *at equal privacy*? The baselines' privacy–utility frontier.

``recanon eval`` compares GX with the classic enhancers at their default strength (σ or cell =
0.1 × the portrait's longer side), which leave no pose at all. A fair comparison sweeps their
strength and sets GX against the baseline of equal privacy. Here, on the portraits ``recanon
eval`` measures (256×128, margin 0.15, libx264 CRF 23 after each method; the labelled sets of
``../shared/data/pose_gt`` and the held-out INRIA portraits):

* ``blur S`` / ``pixelate S``: the Blur / Pixelate enhancer at strength S;
* ``head-blur S``: the head pinned as the packaged GX pins it (σ = 0.1 × the head box, heads from
  the stock P's face keypoints on the raw portrait; an unknown head blurs the whole portrait at
  0.1 × its longer side: the same fail-closed rule) and the body blurred at strength S: GX's
  privacy rule with a plain blur where GX has its network;
* ``gx``: the packaged GX (its own head pin), the row every other is compared with, and with
  ``--gx-head-scale S``, ``gx head S``: the same GX with its head pin's σ set to S × the head box
  at run time (trained at 0.1: what a stronger pin buys and costs, not what a GX trained at S does);
* ``raw``: the codec alone (the reference), and ``head-blur 0``: the head pinned, the body left
  raw — the most pose any method with this head pin can keep.

Printed per row: PSNR and SSIM against the raw portrait, YuNet's face detection rate on portraits
whose raw portrait has a face (privacy), and the OKS AP of the stock YOLO11n-pose (and of
``--tuned``, default ``yolo11n-pose-gx``, on GX) over all portraits and over the labelled ones
(utility), with the ratio to GX's and the share of the raw portraits' AP. Face re-identification
is not measured here (no face embedder is installed by default; ``recanon eval`` with the ``eval``
extra measures it per method).

    python research/probes/baseline_frontier.py                     # about 3 minutes on 2 cores
    python research/probes/baseline_frontier.py --blur 0.02 0.04 --pixelate 0.03
    python research/probes/baseline_frontier.py --blur --pixelate --head-blur --gx-head-scale 0.15 0.2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from recanon_sdk import evaluation as E
from recanon_sdk.crops import head_pin_masks
from recanon_sdk.datasets import shared_data_dir
from recanon_sdk.enhance import make_enhancer
from recanon_sdk.models.codec import x264_roundtrip

SIZE = (256, 128)
HEAD_SCALE = 0.1  # the packaged GX's pin: σ = 0.1 × the head box's longer side
WHOLE = 0.1  # an unknown head: the whole portrait at 0.1 × its longer side


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def head_blur(
    crops: list[np.ndarray], heads: list[np.ndarray | None], strength: float, head_scale: float = HEAD_SCALE
) -> list[np.ndarray]:
    """Each crop's head blocks blurred at ``head_scale`` (GX's 0.1) × the head box, the rest at
    ``strength`` × the longer side (0: left raw); an unknown head: the whole crop at 0.1 × the longer
    side (GX's pin rule, no network)."""
    out = []
    for crop, boxes in zip(crops, heads, strict=True):
        h, w = crop.shape[:2]
        sigma = head_pin_masks(
            [boxes], [crop.shape], (h, w), head_scale=head_scale, whole_sigma=WHOLE * max(h, w)
        )[0, 0]
        result = _blur(crop, strength * max(h, w)) if strength > 0 else crop.copy()
        for value in np.unique(sigma[sigma > 0]):
            where = sigma == value
            result[where] = _blur(crop, float(value))[where]
        out.append(result)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blur", type=float, nargs="*", default=[0.01, 0.02, 0.04, 0.1])
    parser.add_argument("--pixelate", type=float, nargs="*", default=[0.02, 0.04, 0.1])
    parser.add_argument("--head-blur", type=float, nargs="*", default=[0.0, 0.01, 0.02, 0.04])
    parser.add_argument("--gx-head-scale", type=float, nargs="*", default=[], help="GX at other pin σs")
    parser.add_argument(
        "--head-scale", type=float, default=HEAD_SCALE, help="head-blur's head σ / head box (GX: 0.1)"
    )
    parser.add_argument("--data", action="append", help="KIND:PATH[:IMAGES] as recanon eval; repeatable")
    parser.add_argument("--heldout", type=float, default=0.1, help="folder sources: the held-out share")
    parser.add_argument("--tuned", default="yolo11n-pose-gx", help="P fine-tuned for GX's output")
    parser.add_argument("--gx", default=None, help="GX weights (.safetensors); default: the packaged GX")
    parser.add_argument(
        "--yunet", default=str(shared_data_dir().parent / "models" / "face_detection_yunet_2026may.onnx")
    )
    parser.add_argument("--seed", type=int, default=0, help="the deployment secret, as recanon eval's")
    args = parser.parse_args()
    if not Path(args.yunet).is_file():
        raise SystemExit(f"YuNet not found at {args.yunet}: pass --yunet PATH")

    rng = np.random.default_rng(args.seed)
    gx = make_enhancer("gx", model_secret=bytes(rng.integers(0, 256, 32, dtype=np.uint8)), gx_weights=args.gx)
    raw, reference, labelled, heads, raw_faces = [], [], [], [], []
    for source in args.data or E.shared_suite():
        records, is_labelled = E.source_records(source, 200, args.heldout)
        crops, truth = E.portrait_crops(records, SIZE)
        found = E.portrait_poses(crops, SIZE)
        raw += crops
        reference += truth if is_labelled else E.teacher_keypoints(found)
        labelled += [is_labelled] * len(crops)
        heads += [E.portrait_heads(people) for people in found]
        raw_faces += E.faces_found(crops, args.yunet)
    labelled_idx = [i for i, lab in enumerate(labelled) if lab]
    print(
        f"{len(raw)} portraits ({len(labelled_idx)} labelled), {sum(raw_faces)} with a raw face", flush=True
    )

    rows: list[tuple[str, list[np.ndarray]]] = [
        ("raw", list(raw)),
        ("gx", gx.enhance(list(raw), heads=heads)),
    ]
    trained = gx.model.pin.cfg
    for scale in args.gx_head_scale:
        gx.model.pin.cfg = dataclasses.replace(trained, head_scale=scale)
        rows.append((f"gx head {scale}", gx.enhance(list(raw), heads=heads)))
    gx.model.pin.cfg = trained
    rows += [(f"blur {s}", make_enhancer("blur", s).enhance(list(raw))) for s in args.blur]
    rows += [(f"pixelate {s}", make_enhancer("pixelate", s).enhance(list(raw))) for s in args.pixelate]
    rows += [(f"head-blur {s}", head_blur(list(raw), heads, s, args.head_scale)) for s in args.head_blur]
    body = E.body_keypoints_only(reference)  # what fall detection or workplace safety reads

    def utility(crops: list[np.ndarray], weights: str | None) -> np.ndarray:
        people = E.portrait_poses(crops, SIZE, weights)
        return np.array(
            [
                E.oks_ap(reference, people, SIZE)[0],
                E.oks_ap(reference, people, SIZE, order=labelled_idx)[0],
                E.oks_ap(body, people, SIZE)[0],
            ]
        )

    def cells(ap: np.ndarray, raw_ap: np.ndarray, gx_ap: np.ndarray | None) -> str:
        return "   ".join(
            f"{a:.3f} ({a / r:4.0%}" + ("" if gx_ap is None else f", {a / g:.2f}× GX") + ")"
            for a, r, g in zip(ap, raw_ap, ap if gx_ap is None else gx_ap, strict=True)
        )

    print("OKS AP of the stock P: all portraits, labelled ones, body keypoints only (of raw, vs GX)")
    print(
        "method          PSNR   SSIM   faces found      all                     labelled                body"
    )
    raw_ap = gx_ap = None
    for name, produced in rows:
        out = x264_roundtrip(produced, crf=23)
        psnr, ssim = E.psnr_ssim(raw, out)
        found = E.faces_found(out, args.yunet)
        hits = sum(1 for r, f in zip(raw_faces, found, strict=True) if r and f)
        ap = utility(out, None)
        raw_ap = ap if raw_ap is None else raw_ap
        rate = hits / max(sum(raw_faces), 1)
        line = f"{name:14s} {psnr:6.2f} {ssim:6.3f}  {hits:3d}/{sum(raw_faces):<3d} = {rate:5.1%}   "
        print(line + cells(ap, raw_ap, gx_ap), flush=True)
        gx_ap = ap if name == "gx" else gx_ap
        if name.startswith("gx") and args.tuned:
            tuned = utility(out, args.tuned)
            print(f"{'  ' + name + ' → ' + args.tuned:45s}" + cells(tuned, raw_ap, gx_ap), flush=True)


if __name__ == "__main__":
    main()
