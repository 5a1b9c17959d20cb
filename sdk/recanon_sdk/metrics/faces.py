"""Faces for the privacy metrics: YuNet finds them, dlib's 128-d network embeds them.

* :func:`face_boxes` / :func:`faces_found` — OpenCV's YuNet detector (an ONNX file, e.g.
  ``../shared/models/face_detection_yunet_2026may.onnx``) after 2× bicubic upscaling, score ≥ 0.8.
* :class:`FaceEmbedder` — dlib's face-recognition ResNet (128-d; two faces of one person lie
  within 0.6 of each other, :data:`~recanon_sdk.metrics.linkage.DLIB_MATCH_DISTANCE`) with dlib's
  HOG face detector and 5-point aligner: exactly what the ``face_recognition`` package computes, run
  on dlib directly. The code comes from the ``dlib-bin`` wheel (no compiler needed), the weights
  (CC0) from the ``face_recognition_models`` package, read from its folder without importing it;
  both are in the ``eval`` and ``dev`` extras.
* :func:`face_embeddings` — raw portrait vs processed portrait, the raw face's embedding beside the
  processed one at the same location: what :mod:`recanon_sdk.metrics.linkage` scores.

>>> embedder_available() in (True, False)
True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from recanon_sdk.errors import ModelError
from recanon_sdk.metrics.linkage import DLIB_MATCH_DISTANCE, linkage

__all__ = [
    "FaceEmbedder",
    "FaceEmbeddings",
    "embedder_available",
    "face_boxes",
    "face_embeddings",
    "faces_found",
    "portrait_linkage",
    "reidentified",
]

_MODELS = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
_HINT = "pip install 'recanon[eval]' (dlib-bin and face_recognition_models: prebuilt, about 30 s)"


def faces_found(crops: Sequence[np.ndarray], model: str) -> list[bool]:
    """Per crop: does YuNet (``model``) find a face, after 2× bicubic upscaling, at score ≥ 0.8?"""
    return [len(boxes) > 0 for boxes in face_boxes(crops, model)]


def face_boxes(crops: Sequence[np.ndarray], model: str) -> list[np.ndarray]:
    """Per crop: the faces YuNet (``model``) finds after 2× bicubic upscaling at score ≥ 0.8, as
    ``(k, 4)`` x0, y0, x1, y1 in the crop's own pixels."""
    import cv2

    found: list[np.ndarray] = []
    detector = None
    for crop in crops:
        big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)[..., ::-1]
        if detector is None:  # loaded once (OpenCV warns on every creation), resized per crop
            level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
            try:
                detector = cv2.FaceDetectorYN.create(model, "", (big.shape[1], big.shape[0]), 0.8)
            finally:
                cv2.utils.logging.setLogLevel(level)
        detector.setInputSize((big.shape[1], big.shape[0]))
        _, faces = detector.detect(np.ascontiguousarray(big))
        if faces is None or not len(faces):
            found.append(np.zeros((0, 4)))
            continue
        xywh = np.asarray(faces[:, :4], np.float64) / 2
        found.append(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1))
    return found


def _models_dir() -> Path | None:
    """The folder of ``face_recognition_models``' weights, if installed (its ``__init__`` needs
    ``pkg_resources``, so the package is located, not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if all((folder / name).is_file() for name in _MODELS) else None


def embedder_available() -> bool:
    """Whether dlib and the weights are installed (the ``eval`` extra)."""
    return importlib.util.find_spec("dlib") is not None and _models_dir() is not None


class FaceEmbedder:
    """dlib's 128-d face embeddings, as ``face_recognition`` 1.3 computes them (model "small").

    Raises :class:`~recanon_sdk.errors.ModelError` when dlib or the weights are missing.
    """

    def __init__(self) -> None:
        folder = _models_dir()
        if importlib.util.find_spec("dlib") is None or folder is None:
            raise ModelError("the face embedder needs dlib and its weights, which are not installed", _HINT)
        import dlib

        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / _MODELS[0]))
        self._network = dlib.face_recognition_model_v1(str(folder / _MODELS[1]))

    def locate(self, image: np.ndarray, upsample: int = 1) -> np.ndarray:
        """dlib's HOG faces in an RGB uint8 ``image``, ``(k, 4)`` x0, y0, x1, y1 clipped to it."""
        h, w = image.shape[:2]
        boxes = [
            (max(r.left(), 0), max(r.top(), 0), min(r.right(), w), min(r.bottom(), h))
            for r in self._detector(np.ascontiguousarray(image), upsample)
        ]
        return np.asarray(boxes, np.int64).reshape(-1, 4)

    def embed(self, image: np.ndarray, boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """``(k, 128)`` embeddings of the faces at ``boxes`` (x0, y0, x1, y1) of an RGB uint8 image."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        out = []
        for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4).round().astype(int):
            shape = self._landmarks(image, self._dlib.rectangle(int(x0), int(y0), int(x1), int(y1)))
            out.append(np.asarray(self._network.compute_face_descriptor(image, shape, 1), np.float64))
        return np.asarray(out, np.float64).reshape(-1, 128)


@lru_cache(maxsize=1)
def _embedder() -> FaceEmbedder:
    return FaceEmbedder()


@dataclass
class FaceEmbeddings:
    """dlib embeddings of one portrait whose raw version has a face (see :func:`face_embeddings`)."""

    index: int  # position of the portrait in the input
    reference: np.ndarray  # (128,) the raw face's embedding
    given: np.ndarray | None  # the crop's embedding at the raw face's location
    found: list[np.ndarray]  # embeddings of the faces dlib finds in the crop itself

    @property
    def matched_found(self) -> bool:
        """A face dlib finds in the crop matches the raw face (distance < 0.6): a raw match, to be
        read only beside its impostor control (:mod:`recanon_sdk.metrics.linkage`)."""
        return any(float(np.linalg.norm(e - self.reference)) < DLIB_MATCH_DISTANCE for e in self.found)

    @property
    def matched_given(self) -> bool:
        """The crop's embedding at the raw face's location matches the raw face (a raw match)."""
        return (
            self.given is not None
            and float(np.linalg.norm(self.given - self.reference)) < DLIB_MATCH_DISTANCE
        )


def face_embeddings(
    raw: Sequence[np.ndarray], crops: Sequence[np.ndarray], *, find: bool = True
) -> list[FaceEmbeddings] | None:
    """dlib 128-d embeddings (2× bicubic upscaling) of each portrait pair where dlib finds a raw face.

    The raw portrait's first HOG face is the reference; the crop is embedded at that location
    (``given``) and, with ``find``, at the faces dlib finds in the crop itself (``found``). A raw
    portrait passed for several crops (the same array object) is looked at once. ``None`` without
    the embedder (the ``eval`` extra).
    """
    if not embedder_available():
        return None
    import cv2

    embedder = _embedder()
    out = []
    seen: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # one raw portrait given for many crops
    for i, (r, c) in enumerate(zip(raw, crops, strict=True)):
        if id(r) not in seen:
            big_raw = cv2.resize(r, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            located = embedder.locate(big_raw)[:1]
            seen[id(r)] = (located, embedder.embed(big_raw, located)[0] if len(located) else None)
        location, reference = seen[id(r)]
        if reference is None:
            continue
        big = cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        given = embedder.embed(big, location)[0]
        found = list(embedder.embed(big, embedder.locate(big))) if find else []
        out.append(FaceEmbeddings(i, reference, given, found))
    return out


def reidentified(
    raw: Sequence[np.ndarray], crops: Sequence[np.ndarray]
) -> tuple[list[bool], list[bool]] | None:
    """Per portrait with a dlib face in the raw: (matched when found, matched when given the
    location) — raw match rates; read them only beside :mod:`recanon_sdk.metrics.linkage`'s
    impostor control and chance levels. ``None`` without the embedder (``eval`` extra)."""
    pairs = face_embeddings(raw, crops)
    if pairs is None:
        return None
    return [p.matched_found for p in pairs], [p.matched_given for p in pairs]


def portrait_linkage(
    faces: Sequence[FaceEmbeddings], *, resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """``recanon eval``'s identity figures for one method on one source, each portrait its own
    person (no identity labels): the processed face at the raw face's location (the attacker is
    told where the face is) against every raw face of the source — self vs impostor, rank-1 vs
    chance and AUC with intervals over the portraits (:func:`~recanon_sdk.metrics.linkage.linkage`);
    ``dlib_found``: the share of processed portraits in which dlib's own detector finds a face (a
    detection rate, not a match).

    >>> faces = [FaceEmbeddings(i, np.eye(8)[i], np.eye(8)[i], []) for i in range(6)]
    >>> row = portrait_linkage(faces, resamples=100)
    >>> row["reid_faces"], row["dlib_found"], row["linkage"]["rank1"], row["linkage"]["verdict"]
    (6, 0.0, 1.0, 'above chance')
    """
    row: dict[str, Any] = {
        "reid_faces": len(faces),
        "dlib_found": float(np.mean([bool(f.found) for f in faces])) if faces else float("nan"),
    }
    if len(faces) > 1:  # the control needs another person's raw face
        result = linkage(
            [f.given for f in faces],
            range(len(faces)),
            [f.reference for f in faces],
            range(len(faces)),
            own=range(len(faces)),
            resamples=resamples,
            seed=seed,
        )
        row["linkage"] = result.as_dict()
    return row
