"""The anonymizer: source → detect/track → enhance → encode + sidecar, failing closed on every frame.

>>> from recanon_sdk import Anonymizer                       # doctest: +SKIP
>>> anon = Anonymizer()                                       # doctest: +SKIP
>>> result = anon.process_video("in.mp4", "out.mp4")          # doctest: +SKIP
>>> frame_out, people = anon.process_frame(rgb_ndarray)       # doctest: +SKIP

Privacy fails closed: if detection, tracking or enhancement raises on a frame, that whole frame is
obscured (:func:`~recanon_sdk.geometry.obscure_whole_frame`) and the sidecar records the event.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recanon_sdk import interrupts
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.tracking import TRACKER_NAME, PersonTracker, TrackerConfig
from recanon_sdk.enhance import Enhancer, make_enhancer
from recanon_sdk.errors import Interrupted, OutputError
from recanon_sdk.geometry import CropGeometry, head_boxes, heads_in_regions, obscure_whole_frame
from recanon_sdk.types import Frame, People
from recanon_sdk.video.atomic import check_output, commit, discard, temporary_name
from recanon_sdk.video.images import ImageSink
from recanon_sdk.video.reader import IMAGE_SUFFIXES, VideoSource, is_stream_url
from recanon_sdk.video.sidecar import SidecarWriter, make_header, sidecar_path_for
from recanon_sdk.video.writer import CONTAINER_BY_SUFFIX, EncoderConfig, VideoSink

if TYPE_CHECKING:
    import recanon_keys as rk

    from recanon_sdk.originals import OriginalsConfig
    from recanon_sdk.signing import RunSigner

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class AnonymizerConfig:
    """Everything that decides how a video is anonymized; defaults work offline."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    geometry: CropGeometry = field(default_factory=CropGeometry)
    enhancer: str = "blur"
    strength: float | None = None
    #: The deployment's model secret, for the keyed ``gx`` enhancer (never shown in repr).
    model_secret: bytes | None = field(default=None, repr=False)
    gx_weights: str | None = None
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    keep_audio: bool = False
    batch_size: int = 4
    queue_size: int = 8


@dataclass(slots=True)
class RunResult:
    """What one :meth:`Anonymizer.process_video` run did."""

    output: Path
    sidecar: Path
    frames: int = 0
    persons: int = 0
    tracks: int = 0
    obscured_frames: int = 0
    held_regions: int = 0
    seconds: float = 0.0
    manifest: Path | None = None
    originals: Path | None = None
    originals_bytes: int = 0
    stopped_early: str | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class _Processed:
    frame: Frame
    image: np.ndarray
    people: People
    status: str
    events: list[dict[str, Any]]


class Anonymizer:
    """Anonymizes every person in frames or whole videos.

    ``detector``, ``tracker`` and ``enhancer`` may be injected (tests use this to inject faults);
    by default they are built from ``config``.
    """

    def __init__(
        self,
        config: AnonymizerConfig | None = None,
        *,
        detector: Any | None = None,
        enhancer: Enhancer | None = None,
        tracker_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.config = config or AnonymizerConfig()
        self.detector = detector if detector is not None else create_pose_detector(self.config.detector)
        self.enhancer = (
            enhancer
            if enhancer is not None
            else make_enhancer(
                self.config.enhancer,
                self.config.strength,
                model_secret=self.config.model_secret,
                gx_weights=self.config.gx_weights,
            )
        )
        self._tracker_factory = tracker_factory or (lambda: PersonTracker(self.config.tracker))
        self.tracker = self._tracker_factory()

    # -- one frame -------------------------------------------------------------------------------

    def process_frame(self, image: np.ndarray) -> tuple[np.ndarray, People]:
        """Anonymize one upright RGB frame of a sequence (tracking state carries over between calls).

        Returns the anonymized copy (the input is never modified) and the people found, with their
        track ids and anonymized regions. A failure inside obscures the whole frame.
        """
        frame = Frame(image=np.asarray(image), pts=None, time_base=_NO_TIME, index=-1)
        processed = self._anonymize(frame, self._detect([frame])[0])
        return processed.image, processed.people

    def reset(self) -> None:
        """Forget tracks (call between unrelated sequences)."""
        self.tracker = self._tracker_factory()

    def _detect(self, frames: list[Frame]) -> list[People | BaseException]:
        try:
            found = self.detector.detect([f.image for f in frames])
            if len(found) != len(frames):
                raise RuntimeError(f"detector returned {len(found)} results for {len(frames)} frames")
            return list(found)
        except Exception as error:
            if len(frames) == 1:
                return [error]  # fail closed: this frame gets obscured
            # Retry one frame at a time so that only the frames that really fail are obscured.
            return [self._detect([frame])[0] for frame in frames]

    def _anonymize(self, frame: Frame, found: People | BaseException) -> _Processed:
        image = frame.image
        events: list[dict[str, Any]] = []
        if isinstance(found, BaseException):
            events.append(_event("detector_failed", found))
            self.reset()  # the tracker missed a frame; its motion model is no longer trustworthy
            return _Processed(frame, obscure_whole_frame(image), People.empty(), "obscured", events)
        try:
            people = self.tracker.update(found)
        except Exception as error:
            events.append(_event("tracker_failed", error))
            self.reset()
            people = found
            people.region = self.config.geometry.regions(people.xyxy, image.shape[:2], people.keypoints)
            return _Processed(frame, obscure_whole_frame(image), people, "obscured", events)
        try:
            geometry = self.config.geometry
            people.region = geometry.regions(people.xyxy, image.shape[:2], people.keypoints)
            if not len(people):
                return _Processed(frame, image.copy(), people, "ok", events)
            crops = geometry.extract(image, people.region, self.enhancer.input_size)
            if getattr(self.enhancer, "wants_heads", False):  # a head-pinned GX: where the faces are
                heads = head_boxes(people.keypoints, people.xyxy)
                enhanced = self.enhancer.enhance(
                    crops, heads=heads_in_regions(people.region, heads, self.enhancer.input_size)
                )
            else:
                enhanced = self.enhancer.enhance(crops)
            if len(enhanced) != len(crops) or any(
                e.shape != c.shape or e.dtype != np.uint8 for e, c in zip(enhanced, crops, strict=True)
            ):
                raise RuntimeError("enhancer returned crops of the wrong number, shape or type")
            return _Processed(frame, geometry.paste(image, people.region, enhanced), people, "ok", events)
        except Exception as error:
            events.append(_event("enhancer_failed", error))
            return _Processed(frame, obscure_whole_frame(image), people, "obscured", events)

    # -- whole videos ----------------------------------------------------------------------------

    def process_video(
        self,
        source: str | Path,
        output: str | Path | None = None,
        *,
        sidecar: str | Path | None = None,
        overwrite: bool = False,
        max_frames: int | None = None,
        on_progress: ProgressCallback | None = None,
        on_sidecar_line: Callable[[bytes], None] | None = None,
        signer: RunSigner | None = None,
        seal_originals_to: rk.Deployment | None = None,
        originals_config: OriginalsConfig | None = None,
    ) -> RunResult:
        """Anonymize ``source`` into ``output`` (default ``<name>.anon.mp4``) and its pose sidecar.

        Streams in constant memory: decoding, inference and encoding run in three threads joined by
        small bounded queues. Outputs appear only when complete; on any error or Ctrl-C both are
        removed, except for live streams, which are finalized up to the interruption.

        ``seal_originals_to``: also write ``<output stem>.originals.sealed``, the original pixels of
        every anonymized region sealed to that deployment's holders (:mod:`recanon_sdk.originals`),
        for exact recovery by ``recanon recover --exact``.
        """
        output_path = Path(output) if output is not None else default_output_for(source)
        if sidecar is not None:
            sidecar_path = Path(sidecar)
        elif (
            not is_stream_url(source)
            and Path(source).is_dir()
            and output_path.suffix.lower() not in CONTAINER_BY_SUFFIX
        ):  # a folder of images in, a folder out: the sidecar sits beside the folder
            sidecar_path = output_path.with_name(output_path.name + ".pose.jsonl")
        else:
            sidecar_path = sidecar_path_for(output_path)
        inputs = () if is_stream_url(source) else (Path(source),)
        check_output(output_path, overwrite=overwrite, inputs=inputs)
        check_output(sidecar_path, overwrite=overwrite, inputs=inputs)
        if output_path.resolve() == sidecar_path.resolve():
            raise OutputError("the sidecar and the video would have the same name", hint="pass --sidecar")
        video = VideoSource(source)
        info = video.info
        self.reset()
        sink: VideoSink | ImageSink
        if info.kind in ("image", "images") and output_path.suffix.lower() not in CONTAINER_BY_SUFFIX:
            sink = ImageSink(output_path, [p.name for p in video.image_paths])
        else:
            sink = VideoSink(
                output_path,
                time_base=info.time_base,
                average_rate=info.average_rate,
                sample_aspect_ratio=info.sample_aspect_ratio,
                config=self.config.encoder,
                audio_from=source if (self.config.keep_audio and info.has_audio) else None,
            )
        header = make_header(
            source={
                "name": info.name,
                "kind": info.kind,
                "width": info.width,
                "height": info.height,
                "time_base": str(info.time_base),
                "average_rate": None if info.average_rate is None else str(info.average_rate),
            },
            output={
                "name": output_path.name,
                "codec": self.config.encoder.encoder_name,
                "crf": self.config.encoder.crf,
            },
            models=self._model_ids(info.width, info.height),
            anonymization={
                "enhancer": self.enhancer.name,
                "margin": self.config.geometry.margin,
                "feather": self.config.geometry.feather,
                "hold_frames": getattr(self.config.tracker, "hold_frames", None),
            },
        )
        originals_file: Path | None = None
        if seal_originals_to is not None:
            if isinstance(sink, ImageSink):
                raise OutputError(
                    "sealed originals need a video output",
                    hint="pass -o NAME.mp4 to write the images as one video, or drop --seal-originals",
                )
            from recanon_sdk.originals import CONTENT, OriginalsConfig, originals_path_for

            originals_file = originals_path_for(output_path)
            check_output(originals_file, overwrite=overwrite, inputs=inputs)
            originals_config = originals_config or OriginalsConfig()
            header["originals"] = {
                "name": originals_file.name,
                "content": CONTENT,
                "deployment_id": seal_originals_to.deployment_id,
                "lossless": originals_config.lossless,
            }
        if signer is not None:
            if sidecar is not None and sidecar_path != sidecar_path_for(output_path):
                raise OutputError(
                    "a signed run keeps the sidecar next to the video (<output>.pose.jsonl)",
                    hint="drop --sidecar when signing",
                )
            check_output(_manifest_path(output_path), overwrite=overwrite)
            signer.begin(output_path)
        originals: _OriginalsOutput | None = None
        try:
            if originals_file is not None and seal_originals_to is not None:
                originals = _OriginalsOutput(
                    originals_file, seal_originals_to, info.width, info.height, originals_config
                )
                header["originals"]["run_id"] = originals.run_id.hex()
            sidecar_writer = SidecarWriter(sidecar_path, header)
        except OSError as error:
            if signer is not None:
                signer.abort()
            if originals is not None:
                originals.abort()
            raise OutputError(f"cannot write '{error.filename}': {error.strerror}") from None
        if on_sidecar_line is not None:
            sidecar_writer.on_line.append(on_sidecar_line)
        if signer is not None:
            sidecar_writer.on_line.append(signer.add_line)
        result = RunResult(output=output_path, sidecar=sidecar_path)
        tracks: set[int] = set()
        started = time.perf_counter()
        pipeline = _Pipeline(self.config.queue_size)
        live = info.kind == "stream"
        try:
            frames_in = pipeline.start_reader(_limited(video, max_frames))

            def encode(item: _Processed) -> None:
                if item.frame.index == 0:
                    sink.rotation = video.rotation
                sink.write(item.frame, item.image)
                if originals is not None:
                    originals.write(item)
                sidecar_writer.write_frame(
                    index=item.frame.index,
                    pts=item.frame.pts,
                    seconds=item.frame.seconds,
                    people=item.people,
                    status=item.status,
                    events=item.events,
                )
                result.frames += 1
                result.obscured_frames += item.status != "ok"
                if item.people.held is not None:
                    result.held_regions += int(item.people.held.sum())
                    result.persons += int((~item.people.held).sum())
                else:
                    result.persons += len(item.people)
                if item.people.track_id is not None:
                    tracks.update(int(t) for t in item.people.track_id if t >= 0)
                if on_progress is not None:
                    on_progress(result.frames, info.frames if max_frames is None else max_frames)

            pipeline.start_writer(encode)
            try:
                for batch in _batches(frames_in, self.config.batch_size):
                    interrupts.check()
                    for frame, found in zip(batch, self._detect(batch), strict=True):
                        pipeline.put(self._anonymize(frame, found))
                interrupts.check()
            except KeyboardInterrupt:
                pipeline.stop_reader()
                if not live:
                    raise
                result.stopped_early = "interrupted (Ctrl-C); the stream output was finalized"
            pipeline.finish()
            if result.frames == 0:
                raise OutputError(
                    f"no frame could be decoded from '{source}'",
                    hint="the file may be corrupt or not a video",
                )
            result.stopped_early = result.stopped_early or video.stopped_early
            result.tracks = len(tracks)
            result.seconds = time.perf_counter() - started
            if not live:
                interrupts.check()  # a stop that arrived during the last frames: nothing is committed
            sink.close()
            summary: dict[str, Any] = {}
            if originals is not None:
                summary["originals"] = originals.close()
                result.originals, result.originals_bytes = originals.path, summary["originals"]["size"]
            sidecar_writer.finish(
                frames=result.frames,
                persons=result.persons,
                tracks=result.tracks,
                obscured_frames=result.obscured_frames,
                stopped_early=result.stopped_early,
                dropped_non_monotonic=video.dropped_non_monotonic,
                **summary,
            )
            if originals is not None:
                originals.commit()
            if signer is not None:
                result.manifest = signer.commit(
                    source=None if live else source,
                    output=output_path,
                    models=self._model_hashes(),
                    overwrite=overwrite,
                )
        except KeyboardInterrupt:
            pipeline.abort()
            sink.abort()
            sidecar_writer.abort()
            if signer is not None:
                signer.abort()
            if originals is not None:
                originals.abort()
            raise Interrupted("interrupted (Ctrl-C); the partial outputs were removed") from None
        except BaseException:
            pipeline.abort()
            sink.abort()
            sidecar_writer.abort()
            if signer is not None:
                signer.abort()
            if originals is not None:
                originals.abort()
            raise
        return result

    def _model_hashes(self) -> dict[str, str]:
        weights = getattr(self.detector, "weights", None)
        hashes = {} if weights is None else {f"pose:{weights.name}": weights.sha256}
        enhancer_hash = getattr(self.enhancer, "weights_sha256", None)
        if enhancer_hash:
            hashes[f"enhancer:{self.enhancer.name}"] = enhancer_hash
        return hashes

    def _model_ids(self, width: int, height: int) -> dict[str, Any]:
        models: dict[str, Any] = {}
        weights = getattr(self.detector, "weights", None)
        if weights is not None:
            models["pose"] = {
                "name": weights.name,
                "sha256": weights.sha256,
                "origin": weights.origin,
                "imgsz": self.config.detector.imgsz_for(width, height),
                "conf": self.config.detector.conf_for(width, height),
                "tiles": list(self.config.detector.tiles),
                "backend": getattr(self.detector, "backend", "custom"),
            }
            providers = getattr(self.detector, "providers", None)
            if providers:
                models["pose"]["providers"] = list(providers)
        models["tracker"] = {"name": TRACKER_NAME}
        models["enhancer"] = {"name": self.enhancer.name, **_enhancer_params(self.enhancer)}
        enhancer_hash = getattr(self.enhancer, "weights_sha256", None)
        if enhancer_hash:
            models["enhancer"]["weights_sha256"] = enhancer_hash
        return models


_NO_TIME = __import__("fractions").Fraction(1, 1)


class _OriginalsOutput:
    """The sealed-originals file of one run: written under a temporary name, committed by :meth:`close`."""

    def __init__(
        self,
        path: Path,
        deployment: rk.Deployment,
        width: int,
        height: int,
        config: OriginalsConfig | None,
    ) -> None:
        from recanon_sdk.originals import OriginalsWriter

        self.path = path
        self._temporary = temporary_name(path)
        self._handle = open(self._temporary, "wb")  # noqa: SIM115 - closed in close/abort
        try:
            self._writer = OriginalsWriter(
                self._handle, deployment=deployment, width=width, height=height, config=config
            )
        except BaseException:
            self.abort()
            raise
        self.run_id = self._writer.run_id

    def write(self, item: _Processed) -> None:
        image = item.frame.image
        if item.status != "ok":  # the whole frame was obscured: keep all of it
            regions = np.array([[0, 0, image.shape[1], image.shape[0]]])
        else:
            regions = item.people.region if item.people.region is not None else np.zeros((0, 4), int)
        self._writer.write(item.frame.index, image, regions)

    def close(self) -> dict[str, Any]:
        """Finish the stream; return its name, size, SHA-256 and frame count (:meth:`commit` names it)."""
        import recanon_keys as rk

        self._writer.close()
        self._handle.close()
        digest = rk.file_digest(self._temporary)
        return {
            "name": self.path.name,
            "sha256": digest.sha256,
            "size": digest.size,
            "frames": self._writer.frames,
        }

    def commit(self) -> None:
        commit(self._temporary, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.abort()
        self._handle.close()
        if self._temporary.exists():
            discard(self._temporary)


def _manifest_path(output: Path) -> Path:
    return output.with_suffix(".manifest.json")


def default_output_for(source: str | Path) -> Path:
    """``walk.mp4`` → ``walk.anon.mp4``; a stream URL → ``stream.anon.mp4`` in the working folder.

    >>> default_output_for("clips/walk.mov").as_posix()
    'clips/walk.anon.mov'
    >>> default_output_for("photos/door.jpg").as_posix()
    'photos/door.anon.jpg'
    """
    if is_stream_url(source):
        return Path("stream.anon.mp4")
    path = Path(source)
    if path.is_dir():
        return path.with_name(f"{path.name}.anon")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return path.with_name(f"{path.stem}.anon{path.suffix}")
    suffix = (
        path.suffix if path.suffix.lower() in (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v") else ".mp4"
    )
    return path.with_name(f"{path.stem}.anon{suffix}")


def _event(kind: str, error: BaseException) -> dict[str, Any]:
    return {"kind": kind, "error": type(error).__name__, "message": str(error)[:200]}


def _enhancer_params(enhancer: Any) -> dict[str, Any]:
    params = {}
    for name in ("strength", "min_sigma", "min_cell", "color"):
        if hasattr(enhancer, name):
            value = getattr(enhancer, name)
            params[name] = list(value) if isinstance(value, tuple) else value
    return params


def _limited(frames: Iterator[Frame] | VideoSource, limit: int | None) -> Iterator[Frame]:
    for count, frame in enumerate(frames):
        if limit is not None and count >= limit:
            return
        yield frame


def _batches(frames: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_END = object()


class _Pipeline:
    """Decode thread → (main thread: inference) → encode thread, joined by bounded queues."""

    def __init__(self, queue_size: int) -> None:
        self._decoded: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._processed: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._reader_stop = threading.Event()
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def start_reader(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        def run() -> None:
            try:
                for frame in frames:
                    if self._reader_stop.is_set() or not self._put(self._decoded, frame):
                        return
            except BaseException as error:
                self._errors.append(error)
            finally:
                self._put(self._decoded, _END)

        thread = threading.Thread(target=run, name="recanon-decode", daemon=True)
        thread.start()
        self._threads.append(thread)

        def consume() -> Iterator[Frame]:
            while True:
                try:
                    item = self._decoded.get(timeout=0.1)
                except queue.Empty:
                    self._raise_errors()
                    if self._stop.is_set():
                        return
                    continue
                if item is _END:
                    self._raise_errors()
                    return
                yield item

        return consume()

    def start_writer(self, write: Callable[[Any], None]) -> None:
        def run() -> None:
            try:
                while True:
                    try:
                        item = self._processed.get(timeout=0.1)
                    except queue.Empty:
                        if self._stop.is_set():
                            return
                        continue
                    if item is _END:
                        return
                    write(item)
            except BaseException as error:
                self._errors.append(error)
                self._stop.set()

        thread = threading.Thread(target=run, name="recanon-encode", daemon=True)
        thread.start()
        self._threads.append(thread)

    def put(self, item: Any) -> None:
        self._raise_errors()
        self._put(self._processed, item)
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self._errors:
            self._stop.set()
            raise self._errors[0]

    def stop_reader(self) -> None:
        """Stop decoding (live stream interrupted) but let the writer drain what is queued."""
        reader = self._threads[0]
        self._reader_stop.set()
        # Drain the decode queue so the reader is not blocked on it; frames still queued are dropped.
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                self._decoded.get(timeout=0.1)

    def finish(self) -> None:
        self._put(self._processed, _END)
        for thread in self._threads:
            thread.join()
        self._raise_errors()

    def abort(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
