"""Identity linkage on photos: does an anonymized face still lead to its person, beyond chance?

Every photo goes through ``recanon anonymize`` exactly as a user runs it on a still (the stills
detector preset, each enhancer at its defaults, the output file written and read back). YuNet
(``../shared/models``, 2× upscaled, score ≥ 0.8) locates the faces on the *raw* photo; dlib's 128-d
embedder (``eval`` extra) is then *given* each face's location on the raw photo (the gallery) and on
the anonymized one (the probe): the attacker is told where the face is. The faces inside a person
region the pipeline anonymized are the probes, their raw embeddings the gallery; a face outside
every region is left raw by the detector (``benchmarks/privacy_floor.py`` measures that) and only
counted. Faces under ``--min-face`` (16 px) are left out: dlib reads no identity there — on the
stills, 113 raw faces of 6–15 px (a stadium crowd) lie within 0.6 of 74 % of each other *raw*, and
even the solid mask "links" a few of them through their surroundings. Per enhancer
(:mod:`recanon_sdk.metrics.linkage`): faces, YuNet faces left in the output (IoU ≥ 0.3 with the raw
face), self vs impostor match rate at dlib's 0.6, rank-1 vs chance, AUC, 95 % intervals over
people, and the verdict. The ``raw (JPEG q75)`` row is the control: the raw photo, only
recompressed, must come out above chance.

Sets (``--set``): ``stills`` (default): the photos with people of ``../shared/data`` —
``faces/dlib_examples``, ``faces/face_recognition_examples/examples`` and ``images/coco2014`` —
each face its own person (its own photo's raw face is the genuine one) but for the photos named
after a person (``obama*.jpg``, ``biden.jpg``, ``two_people.jpg``); ``orl``: ORL's 40 people ×
``--per-subject`` close-ups; ``knn``: face_recognition's ``knn_examples/train`` (5 people, one
folder each). For the sets with identities a second table scores each face against its person's
*other* photos (``--other-photos``: true re-identification). GX is keyed with the demo
deployment's secret (``examples/demo``), as ``benchmarks/identity_sets.py`` keys it.

    python benchmarks/identity_linkage.py                            # stills: blur, pixelate, mask, GX
    python benchmarks/identity_linkage.py --set orl --per-subject 3 --enhancers blur gx
    python benchmarks/identity_linkage.py --set knn --json knn.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from recanon_sdk.metrics.faces import FaceEmbedder, embedder_available, face_boxes
from recanon_sdk.metrics.linkage import Linkage, linkage, linkage_table, probe_scores

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"
DEMO = ROOT / "examples" / "demo"
STILLS = ("faces/dlib_examples", "faces/face_recognition_examples/examples", "images/coco2014")
#: Photos of face_recognition's examples whose people are known: one name, or one per face from left.
NAMED = {"two_people": ("obama", "biden"), "biden": ("biden",)}


@dataclass
class Photo:
    path: Path
    image: np.ndarray  # RGB
    people: tuple[str, ...] | None  # the named people left to right; None: every face its own person


@dataclass
class Face:
    photo: int
    box: np.ndarray  # x0, y0, x1, y1 on the raw photo
    identity: Hashable


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(image[:, :, ::-1])


def load_set(name: str, per_subject: int = 3, subjects: int = 40) -> list[Photo]:
    """The photos of set ``name`` (see the module docstring); ORL's first ``subjects`` people."""
    data = SHARED / "data"
    if name == "orl":
        people = sorted((data / "faces/orl").glob("s*"), key=lambda p: int(p.name[1:]))[:subjects]
        return [
            Photo(path, load_rgb(path), (subject.name,))
            for subject in people
            for path in sorted(subject.glob("*.pgm"), key=lambda p: int(p.stem))[:per_subject]
        ]
    if name == "knn":
        train = data / "faces/face_recognition_examples/examples/knn_examples/train"
        return [
            Photo(path, load_rgb(path), (person.name,))
            for person in sorted(p for p in train.iterdir() if p.is_dir())
            for path in sorted(person.iterdir())
            if path.suffix.lower() in (".jpg", ".jpeg", ".png")
        ]
    photos = []
    for folder in STILLS:
        for path in sorted((data / folder).iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                known = ("obama",) if path.stem.startswith("obama") else NAMED.get(path.stem)
                photos.append(Photo(path, load_rgb(path), known if "face_recognition" in folder else None))
    return photos


def yunet(image: np.ndarray, large: int = 640) -> np.ndarray:
    """YuNet's faces (:func:`~recanon_sdk.metrics.faces.face_boxes`: 2× upscaled, score ≥ 0.8); on a
    photo where it finds none, again at ``large`` px on the longer side (YuNet misses faces that
    fill a large photo)."""
    boxes = face_boxes([image], str(YUNET))[0]
    scale = large / max(image.shape[:2])
    if len(boxes) or scale >= 1:
        return boxes
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return face_boxes([small], str(YUNET))[0] / scale


def raw_faces(photos: list[Photo], min_face: float = 0.0) -> list[Face]:
    """YuNet's faces on each raw photo (shorter side ≥ ``min_face`` px). A photo of named people
    keeps its faces left to right, one per name; a photo of one named person its largest face."""
    faces = []
    for i, photo in enumerate(photos):
        boxes = yunet(photo.image)
        boxes = boxes[np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= min_face]
        if photo.people is None:
            faces += [Face(i, box, (photo.path.name, k)) for k, box in enumerate(boxes)]
            continue
        if len(photo.people) == 1:
            boxes = boxes[np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:1]]
        else:  # as many faces as names, largest first, then left to right
            boxes = boxes[np.argsort(-(boxes[:, 2] - boxes[:, 0]))[: len(photo.people)]]
            boxes = boxes[np.argsort(boxes[:, 0])] if len(boxes) == len(photo.people) else boxes[:0]
        faces += [Face(i, box, person) for box, person in zip(boxes, photo.people, strict=False)]
    return faces


class CachedDetector:
    """The pose detector run once per photo; every enhancer then anonymizes the same people."""

    def __init__(self, detector) -> None:
        self.detector, self.weights, self.cache = detector, detector.weights, {}

    def detect(self, images):
        out = []
        for image in images:
            key = (image.shape, hash(image.tobytes()))
            if key not in self.cache:
                self.cache[key] = self.detector.detect([image])[0]
            out.append(self.cache[key])
        return out


def anonymize(photos: list[Photo], anonymizer, folder: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each photo through ``Anonymizer.process_video`` (what ``recanon anonymize photo.jpg`` runs: the
    output image written and read back) and its anonymized regions from the sidecar."""
    from recanon_sdk.video.reader import IMAGE_SUFFIXES, VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    outputs, regions = [], []
    for i, photo in enumerate(photos):
        source = photo.path
        if source.suffix.lower() not in IMAGE_SUFFIXES:  # ORL's .pgm: the same pixels as PNG
            source = folder / f"in{i}.png"
            cv2.imwrite(str(source), photo.image[:, :, ::-1])
        anonymizer.reset()
        run = anonymizer.process_video(source, folder / f"out{i}{source.suffix}", overwrite=True)
        outputs.append(next(iter(VideoSource(run.output))).image)
        people = next(iter(Sidecar(run.sidecar).frames())).people
        found = people.region if people.region is not None else np.zeros((0, 4))
        regions.append(np.asarray(found, np.float64).reshape(-1, 4))
    return outputs, regions


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    """The raw photo recompressed (the control row)."""
    _, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def inside(box: np.ndarray, regions: np.ndarray) -> bool:
    """Whether the face's centre lies in one of the anonymized regions."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(
        ((regions[:, 0] <= cx) & (cx < regions[:, 2]) & (regions[:, 1] <= cy) & (cy < regions[:, 3])).any()
    )


def embed_faces(embedder: FaceEmbedder, images: list[np.ndarray], faces: list[Face]) -> np.ndarray:
    """dlib's embedding of every face at its raw location on ``images`` (one per photo)."""
    return np.stack([embedder.embed(images[f.photo], f.box[None])[0] for f in faces])


def score(
    gallery: np.ndarray,
    probes: np.ndarray,
    faces: list[Face],
    kept: list[int],
    *,
    other: bool,
    resamples: int,
) -> Linkage:
    """Linkage of the kept faces' probes against the kept faces' raw embeddings (the genuine one:
    the face's own photo, or with ``other`` the person's other photos)."""
    ids = [faces[i].identity for i in kept]
    return linkage(
        probes[kept], ids, gallery[kept], ids, own=range(len(kept)), exclude_own=other, resamples=resamples
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=["stills", "orl", "knn"], default="stills")
    parser.add_argument("--per-subject", type=int, default=3, help="ORL photos per person (≤ 10)")
    parser.add_argument("--enhancers", nargs="+", default=["blur", "pixelate", "mask", "gx"])
    parser.add_argument(
        "--min-face",
        type=float,
        default=16.0,
        help="smallest raw face kept (shorter side, px; default 16: below it dlib reads no identity)",
    )
    parser.add_argument(
        "--large", type=float, default=32.0, help="also score the faces at least this large alone (px, 0: no)"
    )
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples over people")
    parser.add_argument(
        "--json", type=Path, default=None, help="write the figures here too (and the embeddings beside, .npz)"
    )
    args = parser.parse_args()
    if not embedder_available():
        print("needs dlib's embedder: pip install -e '.[eval]' (dlib-bin, face_recognition_models)")
        return 2
    if not YUNET.is_file():
        print(f"needs YuNet at {YUNET} (../shared); set RECANON_SHARED to where shared/ is", file=sys.stderr)
        return 2
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.geometry import box_iou

    photos = load_set(args.set, args.per_subject)
    faces = raw_faces(photos, args.min_face)
    embedder = FaceEmbedder()
    raw_images = [p.image for p in photos]
    gallery = embed_faces(embedder, raw_images, faces)
    stills = DetectorConfig.for_stills()
    detector = CachedDetector(create_pose_detector(stills))
    secret = None
    if "gx" in args.enhancers:
        import recanon_keys as rk

        device = rk.load_device_key((DEMO / "DEMO-device.key").read_bytes(), passphrase=None)
        secret = rk.derive_model_secret(device, rk.load_deployment((DEMO / "demo.deployment").read_bytes()))
    people = len({f.identity for f in faces})
    with_faces = len({f.photo for f in faces})
    print(
        f"{args.set}: {len(photos)} photos, {with_faces} with a YuNet face; {len(faces)} raw faces of "
        f"{people} people; stills detector; "
        "dlib 128-d given the raw face's location, threshold 0.6"
    )
    ids = [f.identity for f in faces]

    def per_face(probes: np.ndarray, kept: list[int]) -> list[dict]:
        """Each probe's scores (own photo) with its photo and face size, for the JSON."""
        got = probe_scores(probes[kept], [ids[i] for i in kept], gallery[kept], [ids[i] for i in kept],
                           own=range(len(kept)))  # fmt: skip
        return [
            {"photo": photos[faces[i].photo].path.name, "identity": str(faces[i].identity),
             "face_px": float(min(faces[i].box[2] - faces[i].box[0], faces[i].box[3] - faces[i].box[1])),
             **{k: float(getattr(got, k)[j]) for k in ("self_match", "impostor", "auc", "rank1", "chance")}}
            for j, i in enumerate(kept)
        ]  # fmt: skip

    size = np.array([min(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces])
    rows: dict[str, Linkage] = {}
    others: dict[str, Linkage] = {}
    large: dict[str, Linkage] = {}
    large_extra: dict[str, dict[str, str]] = {}
    embedded: dict[str, np.ndarray] = {"gallery": gallery}
    extra: dict[str, dict[str, str]] = {}
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for name in args.enhancers:
            config = AnonymizerConfig(
                detector=stills, enhancer=name, model_secret=secret if name == "gx" else None
            )
            outputs[name] = anonymize(photos, Anonymizer(config, detector=detector), Path(tmp))
    # the probes: the faces inside a region the pipeline anonymized (the same people for every
    # enhancer: one detector run per photo); the control scores the first enhancer's faces raw
    kept_by = {
        name: [i for i, f in enumerate(faces) if inside(f.box, regions[f.photo])]
        for name, (_, regions) in outputs.items()
    }
    first = args.enhancers[0]
    outputs = {"raw (JPEG q75)": ([jpeg(im) for im in raw_images], outputs[first][1]), **outputs}
    kept_by["raw (JPEG q75)"] = kept_by[first]
    for name, (images, _) in outputs.items():
        kept = kept_by[name]
        found = [yunet(im) for im in images]
        left = sum(
            bool(len(found[faces[i].photo]))
            and box_iou(faces[i].box[None], found[faces[i].photo]).max() >= 0.3
            for i in kept
        )
        probes = embed_faces(embedder, images, faces)
        embedded[name] = probes
        rows[name] = score(gallery, probes, faces, kept, other=False, resamples=args.resamples)
        big = [i for i in kept if size[i] >= args.large]
        if args.large > 0 and big:
            large[name] = score(gallery, probes, faces, big, other=False, resamples=args.resamples)
            large_extra[name] = {"faces": str(len(big))}
        extra[name] = {
            "faces": str(len(kept)),
            "outside regions": str(len(faces) - len(kept)),
            "YuNet left": str(left),
        }
        report[name] = {**extra[name], "own_photo": rows[name].as_dict(), "per_face": per_face(probes, kept)}
        if args.set != "stills":
            others[name] = score(gallery, probes, faces, kept, other=True, resamples=args.resamples)
            report[name]["other_photos"] = others[name].as_dict()
        print(f"  {name}: {rows[name].summary()}", flush=True)
    print("\nagainst each face's own raw photo (genuine) and other people's raw faces (impostors):")
    print(linkage_table(rows, extra))
    if large:
        print(f"\nthe same, faces of {args.large:g} px or more only (gallery and probes):")
        print(linkage_table(large, large_extra))
    if others:
        print("\nagainst the person's OTHER raw photos (re-identification; its own photo is no candidate):")
        print(linkage_table(others, extra))
    print(
        "[95 %]: percentile bootstrap over people; rank-1 chance: the share of the candidates that are the "
        "person's, p: as many hits or more by guessing; verdict: AUC interval and rank-1 p (< 0.025)"
    )
    if args.json:
        np.savez_compressed(
            args.json.with_suffix(".npz"), kept=np.array(kept_by[first]), size=size, **embedded,
            identity=np.array([str(i) for i in ids]), photo=np.array([f.photo for f in faces]),
        )  # fmt: skip
        for name, rows_large in large.items():
            report[name]["own_photo_large"] = rows_large.as_dict()
        args.json.write_text(
            json.dumps({"set": args.set, "faces": len(faces), "people": people, "rows": report}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
