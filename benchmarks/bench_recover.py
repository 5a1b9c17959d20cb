"""Recovery on real footage: storage overhead and fidelity of sealed originals, and recovery speed.

In one run, on the first ``--frames`` frames of a real clip:

1. ``recanon anonymize`` (blur, defaults) with signing and sealed originals at the default quality:
   the anonymizer's fps (the baseline the recoverer is compared with).
2. The same regions sealed at other qualities (CRF 18, 28, lossless) straight from the sidecar:
   size of each ``.originals.sealed`` in % of the anonymized video.
3. Exact recovery of everyone (signatures verified, audit entry written): fps, and PSNR of the
   recovered regions against the decoded input (bit-exactness for lossless).
4. Learned recovery (GY opened from a sealed bundle; ``--gy`` weights, else an untrained GY, which
   measures speed only): fps.

    python benchmarks/bench_recover.py                       # 200 frames of the shared walking clip
    python benchmarks/bench_recover.py --frames 90 --clip examples/walking.mp4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.originals import CONTENT, OriginalsConfig, OriginalsWriter, decode_originals
from recanon_sdk.recoverer import Recoverer
from recanon_sdk.signing import RunSigner
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))


def region_masks(sidecar: Path) -> dict[int, np.ndarray]:
    """Frame index → boolean mask of the union of its regions (whole frame when obscured)."""
    masks = {}
    for poses in Sidecar(sidecar).frames():
        regions = poses.people.region
        if regions is None or not len(regions):
            continue
        masks[poses.index] = regions
    return masks


def mask_of(regions: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in regions:
        mask[y0:y1, x0:x1] = True
    return mask


def seal_at(config: OriginalsConfig, frames: list, regions: dict, dep: rk.Deployment, path: Path) -> float:
    """Seal the regions' original pixels with ``config`` into ``path``; return the seconds it took."""
    h, w = frames[0].image.shape[:2]
    started = time.perf_counter()
    with open(path, "wb") as handle:
        writer = OriginalsWriter(handle, deployment=dep, width=w, height=h, config=config)
        for frame in frames:
            writer.write(frame.index, frame.image, regions.get(frame.index, np.zeros((0, 4), int)))
        writer.close()
    return time.perf_counter() - started


def fidelity(
    path: Path, holder: rk.HolderKey, dep: rk.Deployment, frames: list, regions: dict
) -> tuple[float, bool]:
    """PSNR (dB) of the decoded sealed pixels inside the regions vs the input, and bit-exactness."""
    reader = rk.open_stream(path, holder, deployment=dep, content=CONTENT)
    by_index = {f.index: f.image for f in frames}
    squared, count, exact = 0.0, 0, True
    for index, image in decode_originals(reader):
        mask = mask_of(regions[index], image.shape[:2])
        diff = image[mask].astype(np.float64) - by_index[index][mask]
        squared += float((diff**2).sum())
        count += diff.size
        exact &= bool((diff == 0).all())
    psnr = float("inf") if squared == 0 else 10 * np.log10(255**2 / (squared / count))
    return psnr, exact


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip", type=Path, default=SHARED / "data/videos/intel/one-by-one-person-detection.mp4"
    )
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument(
        "--gy", type=Path, help="trained gy.safetensors (default: an untrained GY, speed only)"
    )
    args = parser.parse_args()
    clip = args.clip if args.clip.exists() else ROOT / "examples" / "walking.mp4"
    device = rk.generate_device_key("bench-cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("bench", device_key=device, holders=[alice.public])
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        out = tmp_path / "out.mp4"
        started = time.perf_counter()
        run = Anonymizer(AnonymizerConfig()).process_video(
            clip, out, max_frames=args.frames, signer=RunSigner(device, dep), seal_originals_to=dep
        )
        anonymize_s = time.perf_counter() - started
        anon_bytes = out.stat().st_size
        info = VideoSource(clip).info
        print(
            f"clip: {clip.name}, {run.frames} frames, {info.width}×{info.height}; anonymized video "
            f"{anon_bytes / 1e6:.2f} MB; anonymize (blur, signed, sealing originals) "
            f"{run.frames / anonymize_s:.2f} fps"
        )
        frames = [f for f, _ in zip(VideoSource(clip), range(run.frames), strict=False)]
        regions = region_masks(run.sidecar)
        area = sum(int(mask_of(r, frames[0].image.shape[:2]).sum()) for r in regions.values())
        print(
            f"regions: {len(regions)} of {run.frames} frames hold people, "
            f"{100 * area / (run.frames * info.width * info.height):.1f} % of all pixels"
        )
        print(
            f"\n{'sealed originals':24s} {'size MB':>8s} {'% of video':>10s} {'region PSNR':>12s} "
            f"{'exact':>6s} {'seal fps':>9s}"
        )
        rows = (
            [(f"CRF {OriginalsConfig().crf} (default, in run)", None)]
            + [(f"CRF {crf}", OriginalsConfig(crf=crf)) for crf in (18, 28)]
            + [("lossless", OriginalsConfig(lossless=True))]
        )
        for name, config in rows:
            if config is None:
                path, seconds = run.originals, None
            else:
                path = tmp_path / f"{name.replace(' ', '_')}.sealed"
                seconds = seal_at(config, frames, regions, dep, path)
            size = path.stat().st_size
            psnr, exact = fidelity(path, alice, dep, frames, regions)
            fps = "" if seconds is None else f"{run.frames / seconds:9.1f}"
            print(
                f"{name:24s} {size / 1e6:8.2f} {100 * size / anon_bytes:9.0f}% {psnr:11.2f}  "
                f"{exact!s:>6s} {fps}"
            )

        recoverer = Recoverer(alice, dep)
        started = time.perf_counter()
        result = recoverer.process_video(out, tmp_path / "exact.mp4", audit_log=tmp_path / "audit.jsonl")
        exact_s = time.perf_counter() - started
        print(
            f"\nexact recovery (verify + audit + decode + paste + encode): {result.frames / exact_s:.2f} fps "
            f"= {anonymize_s / exact_s:.1f}× the anonymizer; {result.recovered_regions} regions restored"
        )
        started = time.perf_counter()
        count = sum(1 for _ in recoverer.recover(out, audit_log=tmp_path / "audit.jsonl"))
        print(
            f"exact recovery, frames in memory (no encode): {count / (time.perf_counter() - started):.2f} fps"
        )

        from recanon_sdk.models import create_model
        from recanon_sdk.models.weights import load_model
        from recanon_sdk.runtime.sealed_gy import open_sealed_gy, seal_gy

        if args.gy is not None:
            model, meta = load_model(args.gy)
            arch, size = meta["arch"], tuple(meta.get("input_size") or (128, 64))
        else:
            arch, size = "gy_unet_s", (128, 64)
            model = create_model(arch)
        bundle = seal_gy(model, arch, os.urandom(32), deployment=dep, device_key=device, input_size=size)
        learned = Recoverer(alice, dep, gy=open_sealed_gy(bundle, alice, dep))
        started = time.perf_counter()
        result = learned.process_video(
            out, tmp_path / "learned.mp4", exact=False, audit_log=tmp_path / "audit.jsonl"
        )
        learned_s = time.perf_counter() - started
        print(
            f"learned recovery ({arch}{'' if args.gy else ', untrained: speed only'}): "
            f"{result.frames / learned_s:.2f} fps = {anonymize_s / learned_s:.1f}× the anonymizer"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
