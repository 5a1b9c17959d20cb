"""Fine-tune P on whole anonymized frames: the pipeline's real output, not isolated portraits.

The joint training (:mod:`recanon_sdk.training.loop`) fine-tunes P on portraits, each holding one
person that fills it. A P trained only so forgets what a frame without a person looks like and how
big people are in a scene: ``yolo11n-pose-gx`` reads GX portraits better than the stock model but, on
whole GX-anonymized frames, proposes a dozen low-scored people per frame and finds the real one less
often (``benchmarks/pose_on_anonymized.py``). A consumer of the anonymized video runs P on whole
frames, so P has to learn those. This stage does it:

1. **Scenes** (:func:`prepare_scenes`): every frame of each source (a video, a GIF, or a folder of
   photos) goes through the real pipeline — the camera's pose detector on the raw frame, tracking,
   the enhancer (GX under a random secret per source), paste-back — and then a real libx264 round
   trip (CRF 23). The people the pipeline found on the raw frame (what the sidecar holds; score ≥
   ``min_score``, not held) are the targets: the raw-frame teacher, as on unlabelled video.
2. **Training** (:func:`finetune_on_scenes`): P (Ultralytics YOLO pose) is trained with its own loss
   (``v8PoseLoss``, several people per image) on the anonymized frames and, as an anchor, on the raw
   frames with the same targets, letterboxed into an ``imgsz`` square at a random scale and place.
   Adam, exponential decay; the result is an Ultralytics checkpoint the pose detector loads.
3. **Portraits** (optional, :func:`prepare_portraits`): a P trained on scenes alone forgets the
   portraits of ``recanon eval``. With ``portraits`` (a folder of person crops, e.g. INRIA) and
   ``portrait_share`` > 0, that share of every batch is person portraits made exactly as ``recanon
   eval`` makes them (crop at ``portrait_size``, GX with the heads P finds on the raw portrait, a
   random secret per chunk, libx264), with the stock P's people on the raw portrait as targets. The
   split is ``recanon train``'s (:func:`recanon_sdk.datasets.split_indices` with
   ``portrait_holdout``): ``recanon eval --heldout`` sees only portraits this never trained on.

>>> SceneConfig().imgsz
640
>>> letterbox_params((270, 480), 640, scale=1.0, rng=None)
(1.3333333333333333, 0, 140)

Licence: AGPL-3.0-or-later (recanon).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from recanon_sdk.types import People

__all__ = [
    "Scene",
    "SceneConfig",
    "finetune_on_scenes",
    "is_scene_config",
    "letterbox_params",
    "load_scene_config",
    "portraits_from_scenes",
    "prepare_portraits",
    "prepare_scenes",
    "scene_source",
]

logger = logging.getLogger("recanon.train")

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


@dataclass
class SceneConfig:
    """What :func:`finetune_on_scenes` trains on and how.

    ``sources``: videos, GIFs or folders of photos (whole frames with people), each a path or a
    ``{path, every, skip}`` table (``skip = [a, b]``: leave out frames a … b − 1, e.g. held-out
    ones); ``every``: keep every n-th frame of a video (the default for sources that do not say);
    ``enhancer``: what the pipeline renders people with (``gx``: the packaged
    or ``gx_weights`` GX under a random secret per source); ``weights``: P to start from (a packaged
    name such as ``yolo11n-pose-gx``, or a ``.pt``); ``portraits`` … ``portrait_share``: the
    optional portrait anchor (module docstring, step 3).
    """

    sources: list[str | dict[str, object]] = field(default_factory=list)
    every: int = 1
    max_frames: int = 0  # per source; 0 = all
    enhancer: str = "gx"
    gx_weights: str | None = None
    crf: int = 23
    min_score: float = 0.4
    kpt_conf: float = 0.5
    weights: str = "yolo11n-pose-gx"
    imgsz: int = 640
    scale: tuple[float, float] = (0.5, 1.0)
    batch_size: int = 4
    raw_weight: float = 1.0
    lr: float = 5e-5
    lr_gamma: float = 0.999
    steps: int = 400
    time_limit_min: float = 0.0
    threads: int = 2
    seed: int = 0
    out: str = "runs/scene_pose"
    portraits: str = ""
    portrait_holdout: float = 0.1
    portrait_size: tuple[int, int] = (256, 128)
    portrait_limit: int = 0
    portrait_share: float = 0.0
    #: Also cut portraits from the scenes' own teacher people (every person of every scene frame,
    #: made as ``recanon eval`` makes them): poses and views a pedestrian folder lacks (sitting,
    #: close-ups, COCO photos), for the portrait share of each batch.
    scene_portraits: bool = False


def is_scene_config(data: dict) -> bool:
    """Whether a parsed training TOML is for this stage (``task = "scene_pose"``)."""
    return data.get("task") == "scene_pose"


def load_scene_config(path: str | Path, overrides: Sequence[str] = ()) -> SceneConfig:
    """Read a ``task = "scene_pose"`` TOML (keys: :class:`SceneConfig`'s fields) plus ``key=value``
    overrides (TOML values); relative ``sources`` are relative to the config file.

    Raises ``ValueError`` on an unknown key or a wrong task.
    """
    import dataclasses
    import tomllib

    path = Path(path)
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if not is_scene_config(data):
        raise ValueError(f'{path} is not a scene_pose config (task = "scene_pose")')
    data.pop("task")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} must look like key=value")
        try:
            data[key.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            data[key.strip()] = text.strip()
    known = {f.name for f in dataclasses.fields(SceneConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]} (known: {', '.join(sorted(known))})")
    for key in ("scale", "portrait_size"):
        if key in data:
            data[key] = tuple(data[key])

    def resolved(text: str) -> str:
        return text if Path(text).expanduser().is_absolute() else str((path.parent / text).resolve())

    data["sources"] = [
        {**item, "path": resolved(str(item["path"]))} if isinstance(item, dict) else resolved(item)
        for item in data.get("sources", [])
    ]
    if data.get("portraits"):
        data["portraits"] = resolved(str(data["portraits"]))
    return SceneConfig(**data)


@dataclass
class Scene:
    """One frame: the raw image, its anonymized form after the codec, and the teacher's people in
    frame pixels (``boxes`` (n, 4) x0, y0, x1, y1; ``keypoints`` (n, 17, 3) x, y, visible 0/2)."""

    raw: np.ndarray
    anonymized: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    source: str


def _frames_of(source: Path, every: int, max_frames: int, skip: Sequence[int] = (0, 0)) -> list[np.ndarray]:
    """RGB frames of a video/GIF (every ``every``-th, none in ``[skip[0], skip[1])``) or the photos of
    a folder, cropped to even sizes."""
    if source.is_dir():
        paths = sorted(p for p in source.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    else:
        from recanon_sdk.video.reader import VideoSource

        low, high = skip
        kept = (f for i, f in enumerate(VideoSource(source)) if i % every == 0 and not low <= i < high)
        frames = [f.image for f in kept]
    if max_frames:
        frames = frames[:max_frames]
    return [np.ascontiguousarray(f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2]) for f in frames]


def scene_source(item: str | dict, every: int) -> tuple[Path, int, tuple[int, int]]:
    """One entry of ``SceneConfig.sources`` (a path, or ``{path, every, skip}``) as ``(path, every,
    skip)``, ``every`` defaulting to the config's; a path that does not exist is refused.

    >>> scene_source({"path": ".", "every": 4, "skip": [40, 160]}, 1)
    (PosixPath('.'), 4, (40, 160))
    """
    text, skip = str(item), (0, 0)
    if isinstance(item, dict):
        text, every = str(item["path"]), int(item.get("every", every))
        skip = tuple(item.get("skip", (0, 0)))
    source = Path(text).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"scene source {source} does not exist")
    return source, every, (int(skip[0]), int(skip[1]))


def prepare_scenes(cfg: SceneConfig, log: Callable[[str], None] = logger.info) -> list[Scene]:
    """Run every source through the real pipeline and the codec (see the module docstring)."""
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.models.codec import x264_roundtrip

    detector = create_pose_detector(AnonymizerConfig().detector)
    scenes: list[Scene] = []
    for item in cfg.sources:
        source, every, skip = scene_source(item, cfg.every)
        frames = _frames_of(source, every, cfg.max_frames, skip)
        config = AnonymizerConfig(
            enhancer=cfg.enhancer, model_secret=os.urandom(32), gx_weights=cfg.gx_weights
        )
        anonymizer = Anonymizer(config, detector=detector)
        outputs, found = [], []
        for frame in frames:
            if source.is_dir():
                anonymizer.reset()  # unrelated photos
            image, people = anonymizer.process_frame(frame)
            outputs.append(image)
            found.append(people)
        if source.is_dir():
            decoded = [x264_roundtrip([im], crf=cfg.crf)[0] for im in outputs]
        else:
            decoded = x264_roundtrip(outputs, crf=cfg.crf)
        people_kept = 0
        for raw, anonymized, people in zip(frames, decoded, found, strict=True):
            scenes.append(Scene(raw, anonymized, *_teacher_targets(people, cfg), source.name))
            people_kept += len(scenes[-1].boxes)
        log(f"scenes: {source.name}: {len(frames)} frames, {people_kept} teacher people")
    return scenes


def _teacher_targets(people: People, cfg: SceneConfig) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's confident, not held people as targets: boxes (n, 4) and keypoints (n, 17, 3)
    with visibility 2 where the keypoint's confidence is at least ``cfg.kpt_conf``, else 0."""
    keep = people.score >= cfg.min_score
    if people.held is not None:
        keep &= ~people.held
    kp = people.keypoints[keep].astype(np.float32).copy()
    kp[..., 2] = (kp[..., 2] >= cfg.kpt_conf) * 2.0
    return people.xyxy[keep].astype(np.float32), kp


def prepare_portraits(
    cfg: SceneConfig, log: Callable[[str], None] = logger.info, chunk: int = 64
) -> list[Scene]:
    """Person portraits from ``cfg.portraits`` made as ``recanon eval`` makes them (module docstring,
    step 3; :func:`~recanon_sdk.portraits.portrait_crops`, :func:`~recanon_sdk.portraits.portrait_poses`
    and :func:`~recanon_sdk.portraits.portrait_heads`): only the training part of the split, each a
    :class:`Scene` of one portrait."""
    from recanon_sdk.datasets import folder_records, split_indices

    root = Path(cfg.portraits).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"portrait folder {root} does not exist")
    records = folder_records(root)
    train, held = split_indices(len(records), cfg.portrait_holdout)
    if cfg.portrait_limit:
        train = train[: cfg.portrait_limit]
    portraits = _portraits_of([records[i] for i in train], cfg, root.name, chunk)
    kept = sum(len(p.boxes) for p in portraits)
    log(f"portraits: {root.name}: {len(portraits)} ({len(held)} of {len(records)} held out), {kept} people")
    return portraits


def portraits_from_scenes(
    scenes: Sequence[Scene], cfg: SceneConfig, log: Callable[[str], None] = logger.info, chunk: int = 64
) -> list[Scene]:
    """A portrait of every teacher person of every scene (its box in the raw frame, cut and rendered
    as :func:`prepare_portraits` does; targets: the stock P on the raw portrait)."""
    from recanon_sdk.datasets import Record

    records = [
        Record((lambda image=scene.raw: image), box.astype(np.float32), source=scene.source)
        for scene in scenes
        for box in scene.boxes
    ]
    portraits = _portraits_of(records, cfg, "scenes", chunk)
    log(f"portraits: from the scenes: {len(portraits)}, {sum(len(p.boxes) for p in portraits)} people")
    return portraits


def _portraits_of(records: Sequence[Any], cfg: SceneConfig, name: str, chunk: int) -> list[Scene]:
    """``records`` as ``recanon eval``'s portraits: crops at ``cfg.portrait_size``, GX under a random
    secret per ``chunk`` with the heads P finds on the raw portrait, libx264, the teacher's targets."""
    from recanon_sdk.enhance import make_enhancer
    from recanon_sdk.models.codec import x264_roundtrip
    from recanon_sdk.portraits import portrait_crops, portrait_heads, portrait_poses

    portraits: list[Scene] = []
    for start in range(0, len(records), chunk):
        raw, _ = portrait_crops(records[start : start + chunk], cfg.portrait_size)
        people = portrait_poses(raw, cfg.portrait_size)
        gx = make_enhancer("gx", model_secret=os.urandom(32), gx_weights=cfg.gx_weights)
        if getattr(gx, "wants_heads", False):
            produced = gx.enhance(list(raw), heads=[portrait_heads(p) for p in people])  # type: ignore[call-arg]
        else:
            produced = gx.enhance(list(raw))
        decoded = x264_roundtrip(produced, crf=cfg.crf)
        for image, anonymized, found in zip(raw, decoded, people, strict=True):
            portraits.append(Scene(image, anonymized, *_teacher_targets(found, cfg), name))
    return portraits


def letterbox_params(
    shape: tuple[int, int], imgsz: int, scale: float, rng: np.random.Generator | None
) -> tuple[float, int, int]:
    """Scale factor and (x, y) offset that place an ``shape`` = (H, W) image in an ``imgsz`` square
    at ``scale`` of the largest fit, at a random place (centred without ``rng``)."""
    h, w = shape
    s = imgsz / max(h, w) * scale
    free_x, free_y = imgsz - round(w * s), imgsz - round(h * s)
    if rng is None:
        return s, free_x // 2, free_y // 2
    return s, int(rng.integers(0, free_x + 1)), int(rng.integers(0, free_y + 1))


def _place(image: np.ndarray, imgsz: int, s: float, ox: int, oy: int) -> np.ndarray:
    h, w = image.shape[:2]
    canvas = np.full((imgsz, imgsz, 3), 114, np.uint8)
    small = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    canvas[oy : oy + small.shape[0], ox : ox + small.shape[1]] = small
    return canvas


def _batch(
    scenes: Sequence[Scene], cfg: SceneConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Letterboxed anonymized and raw images (B, S, S, 3) and the Ultralytics targets (normalised)."""
    anon, raw, idx, boxes, kps = [], [], [], [], []
    for i, scene in enumerate(scenes):
        s, ox, oy = letterbox_params(scene.raw.shape[:2], cfg.imgsz, float(rng.uniform(*cfg.scale)), rng)
        anon.append(_place(scene.anonymized, cfg.imgsz, s, ox, oy))
        raw.append(_place(scene.raw, cfg.imgsz, s, ox, oy))
        if not len(scene.boxes):
            continue
        b = scene.boxes * s + [ox, oy, ox, oy]
        b = np.clip(b, 0, cfg.imgsz) / cfg.imgsz
        k = scene.keypoints.copy()
        k[..., 0] = (k[..., 0] * s + ox) / cfg.imgsz
        k[..., 1] = (k[..., 1] * s + oy) / cfg.imgsz
        idx.append(np.full(len(b), i, np.float32))
        boxes.append(np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], 1))
        kps.append(k)
    targets = {
        "batch_idx": np.concatenate(idx) if idx else np.zeros(0, np.float32),
        "bboxes": np.concatenate(boxes).astype(np.float32) if boxes else np.zeros((0, 4), np.float32),
        "keypoints": np.concatenate(kps).astype(np.float32) if kps else np.zeros((0, 17, 3), np.float32),
    }
    return np.stack(anon), np.stack(raw), targets


def _half(preds: dict, part: slice) -> dict:
    """The images ``part`` of a batch's training-mode predictions (Ultralytics' dict)."""
    return {k: [f[part] for f in v] if k == "feats" else v[part] for k, v in preds.items()}


def finetune_on_scenes(
    cfg: SceneConfig,
    scenes: Sequence[Scene] | None = None,
    log: Callable[[str], None] = logger.info,
    portraits: Sequence[Scene] | None = None,
) -> Path:
    """Fine-tune P on ``scenes`` (prepared from ``cfg.sources`` when not given) and, with
    ``cfg.portrait_share`` > 0, on ``portraits`` (prepared from ``cfg.portraits`` when not given);
    returns ``out/pose.pt``.

    Writes ``metrics.csv`` (step, loss on anonymized, loss on raw, seconds) next to it.
    """
    from types import SimpleNamespace

    import torch
    from ultralytics.utils.loss import v8PoseLoss

    from recanon_sdk.detect.weights import resolve_pose_weights
    from recanon_sdk.models.pose_loss import PoseLossConfig, load_pose_model, save_pose_model

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    scenes = list(scenes) if scenes is not None else prepare_scenes(cfg, log)
    if not scenes:
        raise ValueError("no scenes to train on")
    n_portraits = 0
    if cfg.portrait_share > 0:
        if portraits is None:
            portraits = prepare_portraits(cfg, log) if cfg.portraits else []
            if cfg.scene_portraits:
                portraits += portraits_from_scenes(scenes, cfg, log)
        if not portraits:
            raise ValueError(
                "portrait_share > 0 needs portraits (set portraits = a folder of person crops, or "
                "scene_portraits = true)"
            )
        n_portraits = min(cfg.batch_size - 1, max(1, round(cfg.batch_size * cfg.portrait_share)))
    model = load_pose_model(resolve_pose_weights(cfg.weights).path)
    gains = PoseLossConfig()  # the same loss gains as the joint training's L_PE
    model.args = SimpleNamespace(
        box=gains.box_gain, cls=gains.cls_gain, dfl=gains.dfl_gain, pose=gains.pose_gain, kobj=gains.kobj_gain
    )
    for p in model.parameters():
        p.requires_grad_(True)
    criterion = v8PoseLoss(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, cfg.lr_gamma)
    started = time.perf_counter()
    rows = ["step,loss_anonymized,loss_raw,seconds"]
    model.train()
    for step in range(1, cfg.steps + 1):
        chosen = [scenes[i] for i in rng.integers(0, len(scenes), cfg.batch_size - n_portraits)]
        if n_portraits:
            chosen += [portraits[i] for i in rng.integers(0, len(portraits), n_portraits)]  # type: ignore[index]
        anon, raw, targets = _batch(chosen, cfg, rng)
        images = torch.from_numpy(np.concatenate([anon, raw])).permute(0, 3, 1, 2).float() / 255
        n = len(chosen)
        batch = {k: torch.from_numpy(v) for k, v in targets.items()}
        batch["cls"] = torch.zeros(len(batch["batch_idx"]), 1)
        preds = model(images)
        loss_anon = criterion(_half(preds, slice(0, n)), batch)[0].sum()
        loss_raw = criterion(_half(preds, slice(n, 2 * n)), batch)[0].sum()
        loss = (loss_anon + cfg.raw_weight * loss_raw) / n
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        schedule.step()
        seconds = time.perf_counter() - started
        on_anonymized, on_raw = loss_anon.item() / n, loss_raw.item() / n
        rows.append(f"{step},{on_anonymized:.4f},{on_raw:.4f},{seconds:.1f}")
        if step % 25 == 0 or step == 1:
            log(f"step {step}: loss anonymized {on_anonymized:.3f}, raw {on_raw:.3f} ({seconds:.0f} s)")
        if cfg.time_limit_min and seconds > cfg.time_limit_min * 60:
            log(f"time limit reached at step {step}")
            break
    (out / "metrics.csv").write_text("\n".join(rows) + "\n")
    model.eval()
    return save_pose_model(model, out / "pose.pt")
