"""Re-identification with many identities: ORL's 40 people through the pipeline, blur vs pixelate vs GX.

The clips measure identity on 2–3 people, which resolves a verification AUC only to about ±0.05.
ORL (``../shared/data/faces/orl``: 40 subjects × 10 greyscale close-ups, 92×112) has 40. For every
image the whole pipeline runs (YOLO11n-pose → the enhancer on the person region → paste back), then a
real libx264 round trip (CRF 23, all images of a method as one sequence), then dlib's 128-d embedder
(``eval`` extra) looks at the output *at the raw face's location* (an attacker told where the face is),
scored by :func:`recanon_sdk.metrics.linkage.linkage` in two tables:

* **own photo**: self = the output within dlib's 0.6 of its own raw face, beside impostor = the share
  of other people's raw faces within 0.6; rank-1 (the nearest raw face is the person's) vs chance;
  AUC = P(a genuine raw face nearer than another person's);
* **other photos**: the same against the *other* raw photos of the person (true re-identification:
  does the anonymized face find the person's other pictures?), its own photo no candidate.

AUC 0.5 = no identity, 1.0 = fully identifying; 95 % intervals from a bootstrap over the people (one
person's photos are not independent); the verdict (at / above chance) from the AUC interval and
rank-1's exact test. GX (and ``--gx`` weights, e.g. a head-pinned GX) is keyed with the DEMO
deployment's secret (``examples/demo``).

``--recover`` adds the recovery side on the same faces: the packaged GX's output after
libx264, each region run through the sealed demo GY with the right secret (opened with the DEMO
holder key) and with another deployment's secret, and pasted back as ``recanon recover --learned``
pastes it; ``--attacker W`` also applies an unkeyed network trained without the secret
(``learned_attacker.py --save W``). Those rows also give the PSNR over the anonymized regions
against the raw photo.

    python benchmarks/identity_sets.py                         # blur, pixelate, the packaged GX
    python benchmarks/identity_sets.py --gx RUN/gx.safetensors --per-subject 5
    python benchmarks/identity_sets.py --no-baselines --recover --attacker /tmp/attacker.safetensors
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.metrics.faces import embedder_available, face_embeddings
from recanon_sdk.metrics.linkage import Linkage, linkage, linkage_table
from recanon_sdk.models.codec import x264_roundtrip
from recanon_sdk.models.recover import TorchGenerator
from recanon_sdk.runtime.sealed_gy import open_sealed_gy

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
ORL = SHARED / "data" / "faces" / "orl"
DEMO = ROOT / "examples" / "demo"


def orl_photos(per_subject: int) -> tuple[list[np.ndarray], list[int]]:
    """ORL's first ``per_subject`` photos of each of its 40 people, as RGB, and their person numbers."""
    images, identities = [], []
    for subject in sorted(ORL.glob("s*"), key=lambda p: int(p.name[1:])):
        for path in sorted(subject.glob("*.pgm"), key=lambda p: int(p.stem))[:per_subject]:
            images.append(cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB))
            identities.append(int(subject.name[1:]))
    return images, identities


def region_psnr(produced: list[np.ndarray], raw: list[np.ndarray], regions: list[np.ndarray]) -> float:
    """PSNR (dB) over the pixels of all ``regions`` of each photo, ``produced`` against ``raw``."""
    squared, count = 0.0, 0
    for out, ref, found in zip(produced, raw, regions, strict=True):
        for x0, y0, x1, y1 in found:
            diff = out[y0:y1, x0:x1].astype(np.float64) - ref[y0:y1, x0:x1].astype(np.float64)
            squared += float((diff**2).sum())
            count += diff.size
    return float(10 * np.log10(255**2 / (squared / count))) if count else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gx", type=Path, action="append", default=[], help="more GX weights to measure")
    parser.add_argument("--per-subject", type=int, default=10, help="photos per ORL subject (≤ 10)")
    parser.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure blur and pixelation too (--no-baselines: GX and its recovery only)",
    )
    parser.add_argument(
        "--recover", action="store_true", help="add the demo GY with the right and a wrong secret"
    )
    parser.add_argument(
        "--attacker",
        type=Path,
        default=None,
        help="an unkeyed attacker's weights (learned_attacker.py --save) to apply as well",
    )
    args = parser.parse_args()
    if args.attacker is not None and not args.attacker.is_file():
        parser.error(f"--attacker {args.attacker}: no such file; write one with learned_attacker.py --save")
    if not embedder_available():
        print("needs dlib's embedder: pip install -e '.[eval]'")
        return 2
    if not ORL.is_dir():
        print(f"needs ORL at {ORL} (../shared); set RECANON_SHARED to where shared/ is")
        return 2
    images, identities = orl_photos(args.per_subject)
    device = rk.load_device_key((DEMO / "DEMO-device.key").read_bytes(), passphrase=None)
    holder = rk.load_holder_key((DEMO / "DEMO-holder.key").read_bytes(), passphrase=None)
    deployment = rk.load_deployment((DEMO / "demo.deployment").read_bytes())
    secret = rk.derive_model_secret(device, deployment)
    methods: dict[str, AnonymizerConfig] = {}
    if args.baselines:
        methods["blur"] = AnonymizerConfig(enhancer="blur")
        methods["pixelate"] = AnonymizerConfig(enhancer="pixelate")
    methods["GX (packaged)"] = AnonymizerConfig(enhancer="gx", model_secret=secret)
    for weights in args.gx:
        methods[f"GX ({weights.parent.name})"] = AnonymizerConfig(
            enhancer="gx", model_secret=secret, gx_weights=str(weights)
        )
    detector = create_pose_detector(AnonymizerConfig().detector)
    raw_after = x264_roundtrip(images, crf=23)  # the raw faces as the camera's video would hold them
    outputs: dict[str, list[np.ndarray]] = {"raw (after x264)": raw_after}
    regions: list[np.ndarray] = []  # the packaged GX's regions in each photo
    for name, config in methods.items():
        anonymizer = Anonymizer(config, detector=detector)
        produced = []
        for image in images:
            anonymizer.reset()  # independent photos: no tracking across them
            frame, people = anonymizer.process_frame(image)
            produced.append(frame)
            if name == "GX (packaged)":
                found = people.region if people.region is not None else np.zeros((0, 4), int)
                regions.append(np.asarray(found, dtype=np.int64).reshape(-1, 4))
        outputs[name] = x264_roundtrip(produced, crf=23)
    if args.recover or args.attacker:
        gy = open_sealed_gy(DEMO / "demo.gy.sealed", holder, deployment)
        restorers: dict[str, TorchGenerator] = {}
        if args.recover:
            wrong = gy.with_secret(os.urandom(32))  # the same GY weights, another deployment's secret
            restorers = {"GY, right secret": gy, "GY, wrong secret": wrong}
        if args.attacker:
            restorers["attacker (no secret)"] = TorchGenerator(args.attacker, None)
        geometry = methods["GX (packaged)"].geometry
        for name, net in restorers.items():
            outputs[name] = [
                geometry.paste(anon, found, net.run(geometry.extract(anon, found, net.input_size)))
                for anon, found in zip(outputs["GX (packaged)"], regions, strict=True)
            ]
        print(f"GX's regions against the raw photo, {sum(len(r) for r in regions)} regions:")
        for name in ["raw (after x264)", "GX (packaged)", *restorers]:
            print(f"  {name:28s} PSNR {region_psnr(outputs[name], images, regions):6.2f} dB")
    names = list(outputs)
    embedded = face_embeddings(
        [im for im in images for _ in names],
        [outputs[n][i] for i in range(len(images)) for n in names],
        find=False,
    )
    by_image: dict[int, dict[str, np.ndarray | None]] = {}
    refs: dict[int, np.ndarray] = {}
    for e in embedded or []:
        image, method = divmod(e.index, len(names))
        refs[image] = e.reference
        by_image.setdefault(image, {})[names[method]] = e.given
    kept = sorted(refs)
    ids = [identities[i] for i in kept]
    print(
        f"ORL: {len(images)} photos of {len(set(identities))} people; dlib finds a raw face in {len(kept)} "
        f"({len(set(ids))} people); libx264 CRF 23; dlib given the raw face's location, threshold 0.6"
    )
    reference = [refs[i] for i in kept]
    own: dict[str, Linkage] = {}
    other: dict[str, Linkage] = {}
    for name in names:
        probes = [by_image[i].get(name) for i in kept]
        own[name] = linkage(probes, ids, reference, ids, own=range(len(kept)))
        other[name] = linkage(probes, ids, reference, ids, own=range(len(kept)), exclude_own=True)
    print("\nagainst the face's own raw photo:")
    print(linkage_table(own))
    print("\nagainst the person's OTHER raw photos (re-identification; its own photo is no candidate):")
    print(linkage_table(other))
    print(
        "[95 %]: percentile bootstrap over the people (2,000 resamples), not over photos; rank-1 p: as many "
        "hits or more by guessing at chance; verdict: AUC interval and rank-1 p (< 0.025)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
