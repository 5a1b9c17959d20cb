"""Recovery fidelity on real footage, after the real H.264 round trip: learned (GY) and exact.

Uses the DEMO kit in ``examples/demo`` (its device key derives GX's model secret; its holder opens
the sealed GY), so it runs from a fresh checkout. On the first ``--frames`` frames of a real clip:

1. ``recanon anonymize`` with the packaged GX (keyed with the demo deployment's secret), signed,
   sealing the originals (default CRF 18); libx264 CRF 23 for the video.
2. For every anonymized region, against the region of the decoded input: PSNR and SSIM of the
   anonymized video (GX after x264), of GY with the right secret, of GY with another deployment's
   secret, and of the exact recovery (sealed originals); and how many regions YuNet finds a face
   in (upscaled 2×, score ≥ 0.8) for each.
3. With the ``eval`` extra (dlib's 128-d embedder), identity linkage
   (:func:`recanon_sdk.metrics.linkage.linkage`) of every tracked region whose raw version has a dlib
   face, given the raw face's location, track ids as identities: self vs impostor match rate at
   dlib's 0.6, rank-1 vs chance, AUC (0.5 = no identity), intervals over the people and the verdict,
   so that a rendering that merely looks like every face to dlib (noise texture does) is not
   mistaken for an identity leak. A clip of 2–3 people is "too few people" for a verdict.

    python benchmarks/recovery_fidelity.py --frames 120
    python benchmarks/recovery_fidelity.py --gx run/gx.safetensors --gy run/gy.safetensors  # a trial pair
    python benchmarks/recovery_fidelity.py --attacker /tmp/attacker.safetensors  # + the keyless attacker

``--attacker W`` adds a row for an unkeyed network trained without the secret
(``learned_attacker.py --save W``), run on each region of the sidecar as GY is: what someone who
has the video, its sidecar and GX's weights, but not the deployment's secret, gets back.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
import recanon_keys as rk
import torch
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.geometry import head_boxes
from recanon_sdk.metrics.faces import embedder_available, face_embeddings, faces_found
from recanon_sdk.metrics.linkage import Linkage, linkage, linkage_table
from recanon_sdk.models.losses import psnr, ssim
from recanon_sdk.models.recover import GYRecoverer
from recanon_sdk.recoverer import Recoverer
from recanon_sdk.runtime.sealed_gy import open_sealed_gy
from recanon_sdk.signing import RunSigner
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
DEMO = ROOT / "examples" / "demo"
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"


def scores(crop: np.ndarray, raw: np.ndarray) -> tuple[float, float, float]:
    """(mean squared error in 0..255², PSNR dB, SSIM) of ``crop`` against ``raw``."""
    a = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    b = torch.from_numpy(raw).permute(2, 0, 1)[None].float() / 255
    mse = float(((a - b) ** 2).mean()) * 255**2
    return mse, float(psnr(a, b)), float(ssim(a, b))


def main() -> int:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # quiet the DNN backend warnings
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip",
        type=Path,
        default=None,
        help="a video or GIF path (default: the corridor video in ../shared, else examples/walking.mp4)",
    )
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument(
        "--gx", type=Path, default=None, help="GX weights to try (.safetensors; default: the packaged GX)"
    )
    parser.add_argument(
        "--gy",
        type=Path,
        default=None,
        help="plain GY weights of an experiment (.safetensors) instead of the sealed demo bundle",
    )
    parser.add_argument(
        "--attacker",
        type=Path,
        default=None,
        help="an unkeyed attacker's weights (learned_attacker.py --save) to apply to each region too",
    )
    args = parser.parse_args()
    if args.attacker is not None and not args.attacker.is_file():
        parser.error(f"--attacker {args.attacker}: no such file; write one with learned_attacker.py --save")
    if args.clip is not None and not args.clip.is_file():
        parser.error(f"--clip {args.clip}: no such file; give the path of a video or GIF")
    corridor = SHARED / "data/videos/intel/one-by-one-person-detection.mp4"
    clip = args.clip or (corridor if corridor.exists() else ROOT / "examples" / "walking.mp4")
    device = rk.load_device_key((DEMO / "DEMO-device.key").read_bytes(), passphrase=None)
    holder = rk.load_holder_key((DEMO / "DEMO-holder.key").read_bytes(), passphrase=None)
    dep = rk.load_deployment((DEMO / "demo.deployment").read_bytes())
    secret = rk.derive_model_secret(device, dep)
    other_device = rk.generate_device_key("other-cam")  # another deployment: its GY secret is wrong here
    other = rk.create_deployment("other", device_key=other_device, holders=[holder.public])
    wrong_secret = rk.derive_model_secret(other_device, other)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        config = AnonymizerConfig(
            enhancer="gx", model_secret=secret, gx_weights=str(args.gx) if args.gx else None
        )
        run = Anonymizer(config).process_video(
            clip, out, max_frames=args.frames, signer=RunSigner(device, dep), seal_originals_to=dep
        )
        print(f"clip: {clip.name}, {run.frames} frames; GX anonymized at {run.fps:.2f} fps; x264 CRF 23")
        baselines = {}
        for name in ("blur", "pixelate"):  # the classic enhancers on the same frames, same detector
            baselines[f"{name} (after x264)"] = Path(tmp) / f"{name}.mp4"
            Anonymizer(AnonymizerConfig(enhancer=name)).process_video(
                clip, baselines[f"{name} (after x264)"], max_frames=args.frames
            )
        if args.gy is not None:  # an experiment's plain weights, keyed with the demo secret
            gy_right = GYRecoverer(args.gy, secret)
        else:
            gy_right = open_sealed_gy(DEMO / "demo.gy.sealed", holder, dep)
        gy_wrong = gy_right.with_secret(wrong_secret)  # the same GY weights, another deployment's secret
        recoverers = {
            "GY, right secret": Recoverer(holder, dep, gy=gy_right),
            "GY, wrong secret": Recoverer(holder, dep, gy=gy_wrong),
            "exact (sealed originals)": Recoverer(holder, dep),
        }
        if args.attacker is not None:  # the regions come from the sidecar, as they would to an attacker
            recoverers["attacker (no secret)"] = Recoverer(holder, dep, gy=GYRecoverer(args.attacker, None))
        streams = {}
        for name, rec in recoverers.items():
            streams[name] = rec.recover(
                out, exact=name.startswith("exact"), audit_log=Path(tmp) / "audit.jsonl"
            )
        results: dict[str, list[tuple[float, float, float, bool]]] = {
            k: [] for k in [*baselines, "anonymized (GX, after x264)", *recoverers]
        }
        fr = embedder_available()
        probes: dict[str, list[np.ndarray | None]] = {k: [] for k in results}  # given-location embeddings
        gallery: list[np.ndarray] = []  # the raw faces' embeddings ...
        identities: list[int] = []  # ... and their track ids
        baseline_frames = {name: iter(VideoSource(path)) for name, path in baselines.items()}
        raw_faces = 0
        regions = 0
        heads_known = 0  # regions whose head the face keypoints place (a head-pinned GX pins the rest whole)
        for raw, anon, poses in zip(
            VideoSource(clip), VideoSource(out), Sidecar(run.sidecar).frames(), strict=False
        ):
            recovered = {name: next(stream)[1] for name, stream in streams.items()}
            recovered.update({name: next(frames).image for name, frames in baseline_frames.items()})
            tracks = poses.people.track_id if poses.people.track_id is not None else []
            heads = head_boxes(poses.people.keypoints, poses.people.xyxy)
            sizeable = [(r[2] - r[0]) >= 16 and (r[3] - r[1]) >= 16 for r in poses.people.region]
            heads_known += int((~np.isnan(heads).any(axis=1))[sizeable].sum())
            for (x0, y0, x1, y1), track in zip(poses.people.region, tracks, strict=False):
                if (x1 - x0) < 16 or (y1 - y0) < 16:
                    continue
                regions += 1
                raw_crop = raw.image[y0:y1, x0:x1]
                raw_faces += faces_found([raw_crop], str(YUNET))[0]
                crops = {"anonymized (GX, after x264)": anon.image[y0:y1, x0:x1]}
                crops.update({name: image[y0:y1, x0:x1] for name, image in recovered.items()})
                crops = {name: crops[name] for name in results}  # table order
                embedded = (
                    face_embeddings([raw_crop] * len(crops), list(crops.values()), find=False) if fr else None
                )
                for name, crop in crops.items():
                    results[name].append((*scores(crop, raw_crop), faces_found([crop], str(YUNET))[0]))
                    if embedded:  # the raw region has a dlib face
                        f = embedded[list(crops).index(name)]
                        if track >= 0:
                            probes[name].append(f.given)
                            if name == "exact (sealed originals)":
                                gallery.append(f.reference)
                                identities.append(int(track))
        print(f"{regions} regions; YuNet finds a face in {raw_faces} raw regions")
        print(f"face keypoints place the head in {heads_known} of {regions} regions\n")
        print(f"{'vs the raw region':30s} {'PSNR dB':>8s} {'SSIM':>6s} {'YuNet faces':>12s}")
        for name, rows in results.items():
            mse = np.mean([r[0] for r in rows])
            print(
                f"{name:30s} {10 * np.log10(255**2 / mse):8.2f} {np.mean([r[2] for r in rows]):6.3f} "
                f"{sum(r[3] for r in rows):12d}"
            )
        if not fr:
            print(
                "identity linkage: not measured (pip install -e '.[eval]': dlib-bin, face_recognition_models)"
            )
        elif gallery:
            print(
                f"\nidentity linkage: {len(gallery)} tracked regions with a dlib face in the raw, "
                f"{len(set(identities))} tracks (the identities); dlib given the raw face's location, 0.6"
            )
            table: dict[str, Linkage] = {
                name: linkage(found, identities, gallery, identities, own=range(len(gallery)))
                for name, found in probes.items()
            }
            print(linkage_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
