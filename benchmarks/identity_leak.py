"""Where in a pinned GX's output does a face embedder find identity? A decomposition on real video.

The pinned GX (``model.pin_blur``, docs/models.md) outputs ``S_k(d + c + b)``: the blur ``d``, a
coarse correction ``c`` and the network's band content ``b``, scrambled by the deployment key. For
every person region of the clip's first ``--frames`` frames (regions and track ids from the
pipeline), each part is added in turn on the region's 128×64 portrait, coded with libx264 CRF 23,
resized back, and compared with the raw region by dlib (the ``eval`` extra) given the raw face's
location, scored by :func:`recanon_sdk.metrics.linkage.linkage` with the track ids as identities:
self vs impostor match rate at dlib's 0.6, rank-1 vs chance, AUC (0.5 = no identity), intervals over
the people and the verdict (a clip of 2–3 people is "too few people" to decide: the figures still
show). Two controls replace the band by another person's scrambled band and by band-limited white
noise of the same strength: if they score like the real band, the embedder is reacting to texture,
not to the person.

    python benchmarks/identity_leak.py --gx run/gx.safetensors \\
        --clip ../shared/data/videos/intel/face-demographics-walking.gif
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
import torch
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.crops import batch_to_crops, crops_to_batch
from recanon_sdk.enhance.classic import Blur
from recanon_sdk.metrics.faces import face_embeddings
from recanon_sdk.metrics.linkage import Linkage, linkage, linkage_table
from recanon_sdk.models.codec import x264_roundtrip
from recanon_sdk.models.weights import load_model
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))


def tracked_regions(clip: Path, frames: int) -> tuple[list[np.ndarray], list[int]]:
    """The raw person regions the pipeline anonymizes (≥ 16 px) and their track ids."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Anonymizer(AnonymizerConfig(enhancer="blur")).process_video(
            clip, Path(tmp) / "out.mp4", max_frames=frames
        )
        regions, tracks = [], []
        for frame, poses in zip(VideoSource(clip), Sidecar(run.sidecar).frames(), strict=False):
            ids = poses.people.track_id if poses.people.track_id is not None else []
            for (x0, y0, x1, y1), track in zip(poses.people.region, ids, strict=False):
                if (x1 - x0) >= 16 and (y1 - y0) >= 16 and track >= 0:
                    regions.append(frame.image[y0:y1, x0:x1].copy())
                    tracks.append(int(track))
    return regions, tracks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gx", type=Path, required=True, help="a pinned GX (.safetensors, model.pin_blur > 0)"
    )
    parser.add_argument(
        "--clip", type=Path, default=SHARED / "data/videos/intel/face-demographics-walking.gif"
    )
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    gx, _ = load_model(args.gx)
    if getattr(gx, "pin", None) is None:
        parser.error(f"{args.gx} is not a pinned GX; train one with model.pin_blur > 0")
    gx.eval()
    torch.manual_seed(0)
    raws, tracks = tracked_regions(args.clip, args.frames)
    shapes = [r.shape for r in raws]
    n = len(raws)
    x = torch.from_numpy(crops_to_batch(raws, gx_size := (128, 64)))
    keys = gx.scrambler.random_key(n, *gx_size)
    with torch.no_grad():
        u = gx.net(x, None)
        d = gx.pin.target(x)
        c = gx.pin.coarse(u - d)
        b = gx.scrambler.band_luma(u - d - c)
        others = torch.tensor([next((j for j in range(n) if tracks[j] != tracks[i]), i) for i in range(n)])
        noise = gx.scrambler.band_luma(torch.randn(n, 1, *gx_size).expand(-1, 3, -1, -1))
        noise = noise * b.std() / noise.std()
        variants = {
            "raw (128x64 and back)": x,
            "blur target d": d,
            "d + coarse c": d + c,
            "d + c + band b, unscrambled": d + c + b,
            "pinned GX: S_k(d + c + b)": gx.scrambler.scramble(d + c + b, keys),
            "control: S_k(d + c + other's b)": gx.scrambler.scramble(d + c + b[others], keys),
            "control: d + c + white band noise": d + c + noise,
        }

    def coded(images: torch.Tensor | list[np.ndarray]) -> list[np.ndarray]:
        if isinstance(images, list):
            images = torch.from_numpy(crops_to_batch(images, gx_size))
        p = (images.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        q = np.stack(x264_roundtrip(list(p), crf=23)).transpose(0, 3, 1, 2).astype(np.float32) / 255
        return batch_to_crops(q, shapes)

    rows = {name: coded(t) for name, t in variants.items()}
    rows["Blur enhancer (native size)"] = coded(Blur().enhance(raws))
    print(f"{args.clip.name}: {n} tracked regions of {len(set(tracks))} people; libx264 CRF 23 on 128x64")
    print("dlib given the raw face's location; identities: track ids")
    table: dict[str, Linkage] = {}
    for name, crops in rows.items():
        faces = face_embeddings(raws, crops, find=False)
        if faces is None:
            print("needs the 'eval' extra (dlib-bin, face_recognition_models)")
            return 1
        ids = [tracks[f.index] for f in faces]
        table[name] = linkage(
            [f.given for f in faces], ids, [f.reference for f in faces], ids, own=range(len(faces))
        )
        print(f"  {name}: {table[name].summary()}", flush=True)
    print(linkage_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
