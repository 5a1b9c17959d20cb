"""The default enhancer leaves no identity a face embedder can link: at chance on real faces.

ORL (16 people × 2 close-ups) and face_recognition's knn examples (5 people, 9 photos) through
``Anonymizer()`` at its defaults (blur), no codec after it (the attacker gets the best copy), then
dlib's 128-d embedder given each face's location on the raw photo (YuNet): linkage of every
anonymized face against every raw face (:mod:`recanon_sdk.metrics.linkage`). The raw photos,
recompressed, are the control: the same measurement must find them above chance.
"""

from __future__ import annotations

import pytest

from tests.conftest import SHARED, load_script, need_shared

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _bench():
    return load_script("benchmarks/identity_linkage.py")


@pytest.fixture(scope="module")
def embedder():
    from recanon_sdk.metrics.faces import FaceEmbedder, embedder_available

    if not embedder_available():
        pytest.skip("dlib's face embedder is not installed: pip install -e '.[eval]'")
    return FaceEmbedder()


@pytest.fixture(scope="module")
def anonymizer():
    from recanon_sdk.anonymizer import Anonymizer

    return Anonymizer()  # the defaults a user gets: blur, the video detector preset


@pytest.mark.parametrize("name", ["orl", "knn"])
def test_default_blur_stays_at_chance(name, embedder, anonymizer):
    need_shared(SHARED / "data" / "faces" / ("orl" if name == "orl" else "face_recognition_examples"))
    bench = _bench()
    need_shared(bench.YUNET)
    photos = bench.load_set(name, per_subject=2, subjects=16)
    faces = bench.raw_faces(photos)
    assert len(faces) >= 0.9 * len(photos)  # YuNet finds the faces these sets are made of
    raw = [p.image for p in photos]
    blurred = []
    for image in raw:
        anonymizer.reset()  # independent photos
        blurred.append(anonymizer.process_frame(image)[0])
    gallery = bench.embed_faces(embedder, raw, faces)
    everyone = list(range(len(faces)))  # every face, inside a region or not: what the output shows
    control = bench.score(
        gallery, bench.embed_faces(embedder, [bench.jpeg(im) for im in raw], faces), faces, everyone,
        other=False, resamples=1000,
    )  # fmt: skip
    assert control.verdict == "above chance" and control.rank1 > 0.9  # the measurement can see identity
    probes = bench.embed_faces(embedder, blurred, faces)
    for other in (False, True):  # against the face's own raw photo, then against the person's others
        result = bench.score(gallery, probes, faces, everyone, other=other, resamples=1000)
        assert result.identities >= 5
        assert result.auc_interval[0] <= 0.5 <= result.auc_interval[1], result.summary()
        assert result.rank1_p >= 0.025, result.summary()
        assert result.verdict == "at chance", result.summary()
