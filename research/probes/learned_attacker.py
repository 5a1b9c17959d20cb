"""The honest bound: how well does an inverse network trained *without* the secret undo GX?

By Kerckhoffs's principle the deployment secret, not the secrecy of GX's weights, must carry the
protection. This script plays the attacker who has GX (e.g. from a stolen device) but not the
deployment's secret: it trains an unkeyed U-Net A (GY's architecture, no key) on pairs
``(codec(GX(x; random secret)), x)`` made from the INRIA training split, with fresh random secrets
per sample, then applies A to the held-out portraits anonymized under the demo deployment's secret
(which A never saw) after a real libx264 round trip, next to GY with the right and a wrong secret.

    python research/probes/learned_attacker.py --minutes 20
    python research/probes/learned_attacker.py --gx RUN/gx.safetensors --gy RUN/gy.safetensors  # a pair
    python research/probes/learned_attacker.py --minutes 15 --save /tmp/attacker.safetensors  # keep it

``--save`` writes the trained attacker (an unkeyed ``gy_unet_s``, safetensors) so that other
measurements can apply it too: ``identity_sets.py --recover --attacker`` (ORL's 40 people) and
``recovery_fidelity.py --attacker`` (real clips) report its re-identification next to GY's.

A head-pinned GX (``pin.head``) gets the head boxes the packaged pose model finds on each raw portrait,
as ``recanon eval`` and the pipeline give them; the attacker's pairs use the same boxes, so it learns
exactly the mapping deployed video shows it. Training portraits are the training split without
augmentation, mirrored at random (with their pin masks).

Reports PSNR/SSIM against the raw portraits and YuNet face counts; dlib re-identification when the
``eval`` extra is installed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
import recanon_keys as rk
import torch
from recanon_sdk.datasets import folder_records, split_indices
from recanon_sdk.detect.weights import resolve_weights
from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS
from recanon_sdk.evaluation import detected_heads, faces_found, reidentified
from recanon_sdk.models import create_model
from recanon_sdk.models.codec import CodecStandIn, x264_roundtrip
from recanon_sdk.models.losses import psnr, ssim
from recanon_sdk.models.recover import GYRecoverer, crops_to_tensor, tensor_to_crops
from recanon_sdk.models.weights import load_model, save_model
from recanon_sdk.runtime.sealed_gy import open_sealed_gy
from recanon_sdk.training.data import PersonCrops

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
DEMO = ROOT / "examples" / "demo"
SIZE = (128, 64)


def scores(out: list[np.ndarray], raw: list[np.ndarray]) -> tuple[float, float]:
    a, b = crops_to_tensor(out, None), crops_to_tensor(raw, None)
    return float(psnr(a, b)), float(ssim(a, b))


def portraits(crops: PersonCrops) -> list[np.ndarray]:
    """Every portrait of ``crops`` as uint8 RGB (no augmentation)."""
    return [
        (crops[i]["image"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for i in range(len(crops))
    ]


def pin_masks(gx: torch.nn.Module, raw: list[np.ndarray]) -> torch.Tensor | None:
    """The pin masks a head-pinned GX gets for ``raw`` portraits in deployment: head boxes from the
    packaged pose model on each raw portrait (``recanon eval``'s rule); ``None`` for other GX."""
    if not getattr(gx, "pins_heads", False):
        return None
    heads = detected_heads(raw, SIZE)
    print(f"pin masks: head known in {sum(h is not None for h in heads)} of {len(heads)} portraits")
    return torch.from_numpy(gx.pin.masks(heads, [r.shape for r in raw], SIZE))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0, help="training time budget")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gx", type=Path, default=None, help="GX weights (default: the packaged GX)")
    parser.add_argument(
        "--gy", type=Path, default=None, help="plain GY weights of that run (default: the sealed demo GY)"
    )
    parser.add_argument(
        "--save", type=Path, default=None, help="write the trained attacker here (.safetensors)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    gx_path = args.gx or resolve_weights(DEFAULT_GX_WEIGHTS, kind="GX").path
    gx, _ = load_model(gx_path)
    for p in gx.parameters():
        p.requires_grad_(False)
    records = folder_records(SHARED / "data/images/inria_person")  # as the training config reads it
    train_idx, hold_idx = split_indices(len(records), 0.1)  # the split GX/GY were trained with
    train = portraits(PersonCrops([records[i] for i in train_idx], SIZE, 0.15, augment=False))
    held = portraits(PersonCrops([records[i] for i in hold_idx], SIZE, 0.15, augment=False))
    train_masks = pin_masks(gx, train)
    attacker = create_model("gy_unet_s", keyed=False)
    optimizer = torch.optim.Adam(attacker.parameters(), lr=1e-3)
    codec = CodecStandIn()
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    started, step = time.perf_counter(), 0
    train_x = crops_to_tensor(train, None)
    while time.perf_counter() - started < args.minutes * 60:
        idx = torch.from_numpy(rng.integers(0, len(train), args.batch))
        x = train_x[idx]
        mask = None if train_masks is None else train_masks[idx]
        flip = torch.from_numpy(rng.random(args.batch) < 0.5)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if mask is not None:
            mask = torch.where(flip[:, None, None, None], mask.flip(-1), mask)
        with torch.no_grad():
            y = codec(gx(x, gx.random_key(len(x), *SIZE, generator=gen), mask), generator=gen)
        x_hat = attacker(y)
        loss = (x_hat - x).abs().mean() + 0.2 * (1 - ssim(x_hat, x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 50 == 0:
            print(
                f"step {step}  loss {float(loss.detach()):.4f}  {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    attacker.eval()
    if args.save is not None:
        save_model(
            args.save, attacker, "gy_unet_s", {"keyed": False}, SIZE, {"steps": step, "gx": str(gx_path)}
        )
        print(f"attacker written to {args.save}")
    print(
        f"attacker trained {step} steps in {(time.perf_counter() - started) / 60:.1f} min, batch {args.batch}"
    )

    # Held-out portraits, anonymized under the demo deployment's secret, through real libx264.
    device = rk.load_device_key((DEMO / "DEMO-device.key").read_bytes(), passphrase=None)
    holder = rk.load_holder_key((DEMO / "DEMO-holder.key").read_bytes(), passphrase=None)
    dep = rk.load_deployment((DEMO / "demo.deployment").read_bytes())
    secret = rk.derive_model_secret(device, dep)
    raw = held  # the held-out portraits, named as the scores below read them
    held_masks = pin_masks(gx, raw)
    with torch.no_grad():
        y = tensor_to_crops(
            gx(crops_to_tensor(raw, None), gx.key_for_secret(secret, *SIZE), held_masks),
            [r.shape for r in raw],
        )
        y_c = x264_roundtrip(y, crf=23)
        gy = GYRecoverer(args.gy, secret) if args.gy else open_sealed_gy(DEMO / "demo.gy.sealed", holder, dep)
        gy_right = gy.recover(y_c)
        gy_wrong = gy.with_secret(os.urandom(32)).recover(y_c)  # another deployment's secret
        outputs = {
            "GX (after x264)": y_c,
            "attacker A (no secret)": tensor_to_crops(
                attacker(crops_to_tensor(y_c, None)), [r.shape for r in raw]
            ),
            "GY, right secret": gy_right,
            "GY, wrong secret": gy_wrong,
        }
    print(f"GX {gx_path}; GY {args.gy or DEMO / 'demo.gy.sealed'}")
    yunet = str(SHARED / "models" / "face_detection_yunet_2026may.onnx")
    raw_faces = faces_found(raw, yunet)
    print(f"\n{len(raw)} held-out INRIA portraits (128×64); YuNet finds a face in {sum(raw_faces)} raw ones")
    print(f"{'vs raw':26s} {'PSNR dB':>8s} {'SSIM':>6s} {'YuNet faces':>12s} {'re-id found/given':>18s}")
    for name, out in outputs.items():
        p, s = scores(out, raw)
        faces = sum(f for f, r in zip(faces_found(out, yunet), raw_faces, strict=True) if r)
        reid = reidentified(raw, out)
        rate = (
            "-"
            if not reid or not reid[0]
            else f"{100 * np.mean(reid[0]):.0f} % / {100 * np.mean(reid[1]):.0f} %"
        )
        print(f"{name:26s} {p:8.2f} {s:6.3f} {faces:12d} {rate:>18s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
