"""Re-identification with many identities: ORL's 40 people through the pipeline, blur vs pixelate vs GX.

The clips measure identity on 2–3 people, which resolves a verification AUC only to about ±0.05.
ORL (``../shared/data/faces/orl``: 40 subjects × 10 greyscale close-ups, 92×112) has 40. For every
image the whole pipeline runs (YOLO11n-pose → the enhancer on the person region → paste back), then a
real libx264 round trip (CRF 23, all images of a method as one sequence), then dlib's 128-d embedder
(``eval`` extra) looks at the output *at the raw face's location* (an attacker told where the face is):

* **same image**: genuine = the output within dlib's 0.6 of its own raw face; impostor = the mean
  share of other people's raw faces within 0.6; AUC = P(own raw face nearer than another person's);
* **other images**: the same against the *other* nine raw photos of the person (true re-identification:
  does the anonymized face find the person's other pictures?) and the other people's photos
  (``identity_verification(..., same_photo=False)``).

0.5 = no identity, 1.0 = fully identifying. The other-images rates come with 95 % intervals from a
bootstrap over the people (one person's photos are not independent). GX (and ``--gx`` weights, e.g. a
head-pinned GX) is keyed with a random secret.

    python benchmarks/identity_sets.py                         # blur, pixelate, the packaged GX
    python benchmarks/identity_sets.py --gx RUN/gx.safetensors --per-subject 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.evaluation import clustered_interval, face_embeddings, identity_scores
from recanon_sdk.models.codec import x264_roundtrip

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
ORL = SHARED / "data" / "faces" / "orl"


def orl_photos(per_subject: int) -> tuple[list[np.ndarray], list[int]]:
    """ORL's first ``per_subject`` photos of each of its 40 people, as RGB, and their person numbers."""
    images, identities = [], []
    for subject in sorted(ORL.glob("s*"), key=lambda p: int(p.name[1:])):
        for path in sorted(subject.glob("*.pgm"), key=lambda p: int(p.stem))[:per_subject]:
            images.append(cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB))
            identities.append(int(subject.name[1:]))
    return images, identities


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gx", type=Path, action="append", default=[], help="more GX weights to measure")
    parser.add_argument("--per-subject", type=int, default=10, help="photos per ORL subject (≤ 10)")
    args = parser.parse_args()
    if importlib.util.find_spec("face_recognition") is None:
        print("needs dlib's embedder: pip install -e '.[eval]'")
        return 2
    if not ORL.is_dir():
        print(f"needs ORL at {ORL} (../shared); set RECANON_SHARED to where shared/ is")
        return 2
    images, identities = orl_photos(args.per_subject)
    secret = os.urandom(32)
    methods: dict[str, AnonymizerConfig] = {
        "blur": AnonymizerConfig(enhancer="blur"),
        "pixelate": AnonymizerConfig(enhancer="pixelate"),
        "GX (packaged)": AnonymizerConfig(enhancer="gx", model_secret=secret),
    }
    for weights in args.gx:
        methods[f"GX ({weights.parent.name})"] = AnonymizerConfig(
            enhancer="gx", model_secret=secret, gx_weights=str(weights)
        )
    detector = create_pose_detector(AnonymizerConfig().detector)
    raw_after = x264_roundtrip(images, crf=23)  # the raw faces as the camera's video would hold them
    outputs: dict[str, list[np.ndarray]] = {"raw (after x264)": raw_after}
    for name, config in methods.items():
        anonymizer = Anonymizer(config, detector=detector)
        produced = []
        for image in images:
            anonymizer.reset()  # independent photos: no tracking across them
            produced.append(anonymizer.process_frame(image)[0])
        outputs[name] = x264_roundtrip(produced, crf=23)
    names = list(outputs)
    embedded = face_embeddings(
        [im for im in images for _ in names], [outputs[n][i] for i in range(len(images)) for n in names]
    )
    assert embedded is not None
    by_image: dict[int, dict[str, np.ndarray | None]] = {}
    refs: dict[int, np.ndarray] = {}
    for e in embedded:
        image, method = divmod(e.index, len(names))
        refs[image] = e.reference
        by_image.setdefault(image, {})[names[method]] = e.given
    kept = sorted(refs)
    ids = [identities[i] for i in kept]
    print(
        f"ORL: {len(images)} photos of {len(set(identities))} people; dlib finds a raw face in {len(kept)} "
        f"({len(set(ids))} people); libx264 CRF 23; dlib given the raw face's location, threshold 0.6"
    )
    print(f"{'method':28s} {'same image: genuine':>20s} {'impostor':>9s} {'AUC':>5s}   "
          f"{'other images: genuine [95 %]':>30s} {'impostor':>9s} {'AUC [95 %]':>18s}")  # fmt: skip
    reference = [refs[i] for i in kept]
    for name in names:
        probes = [by_image[i].get(name) for i in kept]
        same = identity_scores(reference, ids, probes)
        other = identity_scores(reference, ids, probes, same_photo=False)
        low, high = clustered_interval(other.genuine, ids)  # over people, not photos
        auc_low, auc_high = clustered_interval(other.area, ids)
        print(
            f"{name:28s} {100 * same.genuine_rate:19.1f}% {100 * same.impostor_rate:8.1f}% {same.auc:5.2f}   "
            f"{100 * other.genuine_rate:14.1f}% [{100 * low:4.1f}, {100 * high:4.1f}] "
            f"{100 * other.impostor_rate:8.1f}% {other.auc:5.2f} [{auc_low:4.2f}, {auc_high:4.2f}]"
        )
    print("[95 %]: percentile bootstrap over the people (2,000 resamples), not over photos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
