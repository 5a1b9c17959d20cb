"""Does the fail-closed rendering hide a face that fills the frame? ORL close-ups, whole frame obscured.

When detection, tracking or the enhancer fails on a frame, the anonymizer writes
:func:`recanon_sdk.geometry.obscure_whole_frame` of it. A person may fill the frame (a door camera, a
close-up), so this measures the rendering on ORL (``../shared/data/faces/orl``: 40 people, greyscale
92×112 close-ups), each photo as a whole frame, after a libx264 CRF 23 round trip: YuNet's face rate
and dlib's re-identification against the person's *other* photos (genuine rate, impostor rate and
AUC; 0.5 = no identity), next to the raw photos and the Blur enhancer's rule applied to the whole
frame (σ = 0.1 × longer side), and the obscuring at other cell sizes.

    python benchmarks/fail_closed_faces.py                 # 4 photos per person (~3 min)
    python benchmarks/fail_closed_faces.py --per-subject 10
"""

from __future__ import annotations

import argparse

import numpy as np
from identity_sets import ORL, SHARED, orl_photos  # benchmarks/: ORL's photos
from recanon_sdk import geometry
from recanon_sdk.enhance.classic import Blur
from recanon_sdk.metrics.faces import embedder_available, face_embeddings, faces_found
from recanon_sdk.metrics.linkage import linkage, linkage_table
from recanon_sdk.models.codec import x264_roundtrip

YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-subject", type=int, default=4, help="photos per ORL subject (≤ 10)")
    args = parser.parse_args()
    if not embedder_available():
        print("needs dlib's embedder: pip install -e '.[eval]'")
        return 2
    if not ORL.is_dir() or not YUNET.is_file():
        print(f"needs ORL at {ORL} and YuNet at {YUNET} (../shared); set RECANON_SHARED to shared/")
        return 2
    images, identities = orl_photos(args.per_subject)
    methods = {
        "raw": lambda im: im,
        "blur 0.1 (whole frame)": lambda im: Blur().enhance([im])[0],
        f"obscure_whole_frame ({geometry.OBSCURE_CELL})": geometry.obscure_whole_frame,
        "obscure, cell 0.125": lambda im: geometry.obscure_whole_frame(im, 0.125),
        # the former rendering: cells of 1/12 of the shorter side (rounded, where it floored)
        "obscure, 12 cells (before)": lambda im: geometry.obscure_whole_frame(
            im, 1 / 12 * min(im.shape[:2]) / max(im.shape[:2])
        ),
    }
    outputs = {name: x264_roundtrip([f(im) for im in images], crf=23) for name, f in methods.items()}
    names = list(outputs)
    embedded = face_embeddings(
        [im for im in images for _ in names], [outputs[n][i] for i in range(len(images)) for n in names]
    )
    assert embedded is not None
    refs: dict[int, np.ndarray] = {}
    probes: dict[int, dict[str, np.ndarray | None]] = {}
    for e in embedded:
        image, method = divmod(e.index, len(names))
        refs[image] = e.reference
        probes.setdefault(image, {})[names[method]] = e.given
    kept = sorted(refs)
    print(
        f"ORL: {len(images)} photos of {len(set(identities))} people as whole frames, libx264 CRF 23; "
        f"dlib finds a raw face in {len(kept)}; re-id against the person's other photos, threshold 0.6"
    )
    rows, extra = {}, {}
    for name in names:
        rate = float(np.mean(faces_found(outputs[name], str(YUNET))))
        extra[name] = {"YuNet faces": f"{100 * rate:.1f} %"}
        rows[name] = linkage(
            [probes[i].get(name) for i in kept],
            [identities[i] for i in kept],
            [refs[i] for i in kept],
            [identities[i] for i in kept],
            own=range(len(kept)),
            exclude_own=True,  # linked to the person's *other* photos
        )
    print(linkage_table(rows, extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
