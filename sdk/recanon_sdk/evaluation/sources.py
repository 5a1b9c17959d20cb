"""Where ``recanon eval``'s portraits come from: ``KIND:PATH[:IMAGES]`` sources and the shared suite.

A source is a COCO-style keypoint JSON (``coco:ANN.json[:IMAGES]``: COCO, CrowdPose, AI Challenger,
MHP… mapped to COCO-17 by joint name), an MPII annotation JSON (``mpii:…``) or a folder of person
crops without labels (``folder:DIR``); :func:`source_records` reads its people as
:class:`~recanon_sdk.datasets.Record` objects, which :func:`recanon_sdk.portraits.portrait_crops`
cuts into portraits.
"""

from __future__ import annotations

from pathlib import Path

from recanon_sdk.datasets import (
    Record,
    coco_records,
    folder_records,
    mpii_records,
    shared_data_dir,
    split_indices,
)

__all__ = ["KINDS", "parse_source", "shared_suite", "source_records"]

KINDS = ("coco", "folder", "mpii")


def parse_source(text: str) -> tuple[str, str, str | None]:
    """``KIND:PATH[:IMAGES]`` → (kind, path, images folder or None).

    >>> parse_source("coco:data/ann.json")
    ('coco', 'data/ann.json', None)
    >>> parse_source("folder:crops/")
    ('folder', 'crops/', None)
    """
    kind, _, rest = text.partition(":")
    if kind not in KINDS or not rest:
        raise ValueError(f"data source '{text}' must be KIND:PATH with KIND one of {', '.join(KINDS)}")
    path, _, images = rest.partition(":")
    return kind, path, images or None


def shared_suite(shared: str | Path | None = None) -> list[str]:
    """The portrait suite of docs/results.md ("The portrait suite") as ``recanon eval`` sources:
    the labelled sets of ``<shared>/pose_gt`` whose raw portraits the stock P reads at all (COCO,
    OCHuman, PoseTrack18, AI Challenger, CrowdPose, MHP, MPII: 53 people; ExLPose's dark frames give
    it nothing) and the INRIA crop folder (use its held-out 10 %). ``shared``: the data folder,
    default :func:`recanon_sdk.datasets.shared_data_dir`.

    >>> [source.split(":")[0] for source in shared_suite("/data")][-2:]
    ['mpii', 'folder']
    """
    root = Path(shared) if shared is not None else shared_data_dir()
    gt = root / "pose_gt"
    return [
        f"coco:{gt}/coco/test_coco.json",
        f"coco:{gt}/ochuman/test_ochuman.json",
        f"coco:{gt}/posetrack18/annotations/test_posetrack18_val.json:{gt}/posetrack18",
        f"coco:{gt}/aic/test_aic.json",
        f"coco:{gt}/crowdpose/test_crowdpose.json",
        f"coco:{gt}/mhp/test_mhp.json",
        f"mpii:{gt}/mpii/test_mpii.json",
        f"folder:{root}/images/inria_person",
    ]


def source_records(source: str, limit: int, heldout: float | None = None) -> tuple[list[Record], bool]:
    """The people of a ``KIND:PATH[:IMAGES]`` source (at most ``limit``, evenly spaced; 0 = all) and
    whether they are labelled; a folder with ``heldout`` gives only its held-out split."""
    kind, path, images = parse_source(source)
    if not Path(path).exists():
        raise FileNotFoundError(f"data source '{source}': '{path}' does not exist")
    if kind == "folder":
        if heldout:
            everything = folder_records(path)
            _, hold = split_indices(len(everything), heldout)
            chosen = [everything[i] for i in hold]
            return chosen[:limit] if limit else chosen, False
        return folder_records(path, limit=limit), False
    records = coco_records(path, images) if kind == "coco" else mpii_records(path, images)
    if limit and len(records) > limit:
        step = len(records) / limit
        records = [records[int(i * step)] for i in range(limit)]
    return records, True
