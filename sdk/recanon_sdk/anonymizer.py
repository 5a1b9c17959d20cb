"""The anonymizer: source → detect/track → enhance → encode + sidecar, failing closed on every frame.

>>> from recanon_sdk import Anonymizer                       # doctest: +SKIP
>>> anon = Anonymizer()                                       # doctest: +SKIP
>>> result = anon.process_video("in.mp4", "out.mp4")          # doctest: +SKIP
>>> frame_out, people = anon.process_frame(rgb_ndarray)       # doctest: +SKIP
>>> for frame, people, status in anon.stream("in.mp4"): ...   # doctest: +SKIP

Privacy fails closed: if detection, tracking or enhancement raises on a frame, or the detector returns
boxes that cannot be anonymized as given, that whole frame is obscured
(:func:`~recanon_sdk.geometry.obscure_whole_frame`) and the sidecar records the event. A failure never
reduces what is held: regions kept for people the detector lost stay anonymized across it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recanon_sdk import interrupts
from recanon_sdk.cadence import Cadence, FrameView
from recanon_sdk.cadence_steps import crop_pass, look_at_motion
from recanon_sdk.checks import check_channels, check_detections, check_detector, check_enhancer, check_frame
from recanon_sdk.config import AnonymizerConfig, build_config
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.tracking import PersonTracker
from recanon_sdk.enhance import Enhancer, make_enhancer
from recanon_sdk.errors import Interrupted, OutputError
from recanon_sdk.frame_stream import AnonymizedFrame, header_additions, stream, time_span_for
from recanon_sdk.geometry import obscure_whole_frame
from recanon_sdk.names import display_name, redact_url
from recanon_sdk.render import render
from recanon_sdk.run_header import model_hashes, run_header
from recanon_sdk.run_outputs import FrameOutput, OriginalsOutput, RunOutputs
from recanon_sdk.run_paths import check_signable, default_output_for, manifest_path, sidecar_for
from recanon_sdk.streaming import ThreadedPipeline, batches, limited
from recanon_sdk.types import Frame, People
from recanon_sdk.video.atomic import check_output
from recanon_sdk.video.images import ImageSink
from recanon_sdk.video.reader import VideoSource, is_stream_url
from recanon_sdk.video.sidecar import SidecarWriter
from recanon_sdk.video.writer import CONTAINER_BY_SUFFIX, VideoSink

if TYPE_CHECKING:
    import recanon_keys as rk

    from recanon_sdk.originals import OriginalsConfig
    from recanon_sdk.signing import RunSigner

ProgressCallback = Callable[[int, int | None], None]
#: Called with each anonymized frame's picture, people and status (e.g. a preview window).
FrameCallback = Callable[[np.ndarray, People, str], None]

_batches = batches  # kept for scripts written against earlier releases; use recanon_sdk.streaming.batches
__all__ = ["AnonymizedFrame", "Anonymizer", "AnonymizerConfig", "RunResult", "default_output_for"]


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


class Anonymizer:
    """Anonymizes every person in frames or whole videos.

    ``enhancer`` is a name (``"blur"``, ``"pixelate"``, ``"mask"``, ``"gx"``: built with the config's
    strength and model secret) or an object with the :class:`~recanon_sdk.enhance.Enhancer`
    interface; ``detector`` an object with ``detect(images) -> list[People]`` (tests inject faults
    this way). By default both are built from ``config``. Frames are RGB ``(H, W, 3)`` uint8 arrays
    (:meth:`process_frame` takes ``channels="BGR"`` for OpenCV's order); anything else raises
    ``TypeError``/``ValueError`` before any work.

    Any setting can also be given by name (:func:`recanon_sdk.config.build_config`), applied on top
    of ``config``: ``Anonymizer(conf=0.3, imgsz=1280, enhancer="pixelate", region="head")``; an
    unknown name raises ``TypeError`` listing the valid ones. A hiding policy that shows more than
    the default (:mod:`recanon_sdk.policy`) issues a :class:`~recanon_sdk.policy.PrivacyWarning`.

    >>> Anonymizer(detector=object())
    Traceback (most recent call last):
    ...
    TypeError: detector must have detect(images) -> list[People] ...; object has none
    """

    def __init__(
        self,
        config: AnonymizerConfig | None = None,
        *,
        detector: Any | None = None,
        enhancer: Enhancer | str | None = None,
        tracker_factory: Callable[[], Any] | None = None,
        **options: Any,
    ) -> None:
        if isinstance(enhancer, str):
            options["enhancer"] = enhancer
        self.config = build_config(config, **options)
        self.config.policy.warn()
        if detector is not None:
            check_detector(detector)
        if enhancer is not None and not isinstance(enhancer, str):
            check_enhancer(enhancer)
        self.detector = detector if detector is not None else create_pose_detector(self.config.detector)
        if enhancer is None or isinstance(enhancer, str):
            enhancer = make_enhancer(
                self.config.enhancer,
                self.config.strength,
                model_secret=self.config.model_secret,
                gx_weights=self.config.gx_weights,
            )
        self.enhancer = enhancer
        self._tracker_factory = tracker_factory or (lambda: PersonTracker(self.config.tracker))
        self.tracker = self._tracker_factory()
        self.cadence = Cadence(self.config.cadence)
        self._pending: tuple[FrameView, bool] | None = None

    # -- one frame -------------------------------------------------------------------------------

    def process_frame(self, image: np.ndarray, *, channels: str = "RGB") -> tuple[np.ndarray, People]:
        """Anonymize one upright frame of a sequence (tracking state carries over between calls).

        ``image`` is an ``(H, W, 3)`` uint8 array in RGB order, or BGR with ``channels="BGR"`` (as
        OpenCV reads it; the result is then BGR too). Returns the anonymized copy (the input is never
        modified) and the people found, with their track ids and anonymized regions. A failure inside
        obscures the whole frame. Raises ``TypeError``/``ValueError`` for any other input (a float,
        grey or RGBA frame would otherwise hide nobody).
        """
        order = check_channels(channels)
        rgb = check_frame(image)
        if order == "BGR":
            rgb = np.ascontiguousarray(rgb[:, :, ::-1])
        frame = Frame(image=rgb, pts=None, time_base=_NO_TIME, index=-1)
        processed = self._anonymize(frame, self._detect([frame])[0])
        out = processed.image if order == "RGB" else np.ascontiguousarray(processed.image[:, :, ::-1])
        return out, processed.people

    def reset(self) -> None:
        """Forget tracks and held regions (call between unrelated sequences)."""
        self.tracker = self._tracker_factory()
        self.cadence.reset()

    def _found(self, batch: list[Frame]) -> Iterator[tuple[Frame, People | BaseException]]:
        """Each frame with what was found in it: the detector's people, or (between the cadence's
        full detections) the previous people carried by optical flow. Call :meth:`_observe` with each
        frame's result before taking the next (the cadence decides from it)."""
        if self.config.cadence.detect_every <= 1:
            yield from zip(batch, self._detect(batch), strict=True)
            return
        for frame in batch:
            view = self.cadence.view(frame.image)
            carried = self.cadence.carry(view)
            detected = self.cadence.needs_detection(view, carried)
            local = detected and self.cadence.reason == "motion" and carried is not None
            local = local and self.cadence.motion_is_local(frame.image.shape[:2])
            if (not detected or local) and carried is not None:
                carried = crop_pass(
                    self.detector, self.config.cadence, frame.image, carried, self.cadence.moved_px
                )
                detected = carried is None  # the crop pass failed: the full detector instead
            if local and not detected and carried is not None:
                carried = look_at_motion(self.detector, self.cadence.motion_windows, frame.image, carried)
                detected = carried is None  # someone cut by a window, or a fault: the full detector
            self._pending = (view, detected)
            yield frame, (self._detect([frame])[0] if detected or carried is None else carried)

    def _observe(self, item: FrameOutput) -> None:
        """Tell the cadence what a frame finally held (a frame that failed gets the detector next)."""
        if self._pending is None:
            return
        view, detected = self._pending
        self._pending = None
        if item.status == "ok":
            self.cadence.remember(view, item.people, detected=detected)
        else:
            self.cadence.forget()

    def _detect(self, frames: list[Frame]) -> list[People | BaseException]:
        try:
            found = self.detector.detect([f.image for f in frames])
            if len(found) != len(frames):
                raise RuntimeError(f"detector returned {len(found)} results for {len(frames)} frames")
        except Exception as error:
            if len(frames) == 1:
                return [error]  # fail closed: this frame gets obscured
            # Retry one frame at a time so that only the frames that really fail are obscured.
            return [self._detect([frame])[0] for frame in frames]
        out: list[People | BaseException] = []
        for frame, people in zip(frames, found, strict=True):
            try:
                out.append(check_detections(people, frame.image.shape[:2]))
            except ValueError as error:  # a box that cannot be anonymized as given: fail closed
                out.append(error)
        return out

    def _restart_tracker(self) -> None:
        """A fresh tracker after a tracker fault, keeping the regions held for lost people."""
        restart = getattr(self.tracker, "restart", None)
        if callable(restart):
            restart()
        else:
            self.tracker = self._tracker_factory()

    def _anonymize(self, frame: Frame, found: People | BaseException) -> FrameOutput:
        image = frame.image
        events: list[dict[str, Any]] = []
        if isinstance(found, BaseException):
            # The tracker keeps its state (and the regions it holds): this frame is obscured whole and
            # the next one is tracked as after a frame the detector missed.
            events.append(_event("detector_failed", found))
            return FrameOutput(frame, obscure_whole_frame(image), People.empty(), "obscured", events)
        try:
            people = self.tracker.update(found)
        except Exception as error:
            events.append(_event("tracker_failed", error))
            self._restart_tracker()
            people = found
            people.region = self.config.geometry.regions(people.xyxy, image.shape[:2], people.keypoints)
            return FrameOutput(frame, obscure_whole_frame(image), people, "obscured", events)
        try:  # who is hidden and how (recanon_sdk.policy), enhanced and pasted (recanon_sdk.render)
            c = self.config
            out = render(image, people, c.geometry, self.enhancer, c.policy, draw_pose=c.draw_pose)
            return FrameOutput(frame, out, people, "ok", events)
        except Exception as error:
            events.append(_event("enhancer_failed", error))
            return FrameOutput(frame, obscure_whole_frame(image), people, "obscured", events)

    # -- whole videos ----------------------------------------------------------------------------

    def stream(
        self,
        source: str | Path,
        *,
        sidecar: str | Path | None = None,
        overwrite: bool = False,
        max_frames: int | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Iterator[AnonymizedFrame]:
        """Yield ``(frame, people, status)`` for each frame of ``source``, anonymized, in order.

        For apps that own their loop: one small batch at a time in the caller's thread, constant
        memory. ``sidecar``: also write the pose sidecar there, line by line (finalized when the loop
        ends or stops early, removed on an error). ``start``/``end``: seconds, as in
        :meth:`process_video`. Photos of a folder are independent: tracking restarts for each.
        See :mod:`recanon_sdk.frame_stream`.
        """
        return stream(
            self, source, sidecar=sidecar, overwrite=overwrite, max_frames=max_frames, start=start, end=end
        )

    def process_video(
        self,
        source: str | Path | VideoSource,
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
        start: float | None = None,
        end: float | None = None,
        on_frame: FrameCallback | None = None,
    ) -> RunResult:
        """Anonymize ``source`` into ``output`` (default ``<name>.anon.mp4``) and its pose sidecar.

        Streams in constant memory: decoding, inference and encoding run in three threads joined by
        small bounded queues. Outputs appear only when complete, all together (video, sidecar,
        sealed originals, signature, manifest); on any error or Ctrl-C none of them is left, except
        for live streams, which are finalized up to the interruption.

        ``seal_originals_to``: also write ``<output stem>.originals.sealed``, the original pixels of
        every anonymized region sealed to that deployment's holders (:mod:`recanon_sdk.originals`),
        for exact recovery by ``recanon recover --exact``.

        ``start``/``end``: anonymize only that span (seconds after the first frame); the output is
        that span alone, starting at 0 (:mod:`recanon_sdk.span`). ``on_frame(image, people, status)``
        sees every anonymized frame in the caller's thread (a live preview). A folder of photos is a
        set of independent images: tracking restarts for each (no region is held from one to the next).
        ``source`` may also be an opened :class:`~recanon_sdk.video.reader.VideoSource` (or a subclass
        that yields frames from elsewhere, as the live recorder's segments do); it is read as it is.
        """
        opened = source if isinstance(source, VideoSource) else None
        source = opened.source if opened is not None else source
        output_path = Path(output) if output is not None else default_output_for(source)
        sidecar_path = sidecar_for(source, output_path, sidecar)
        inputs = () if is_stream_url(source) else (Path(source),)
        check_output(output_path, overwrite=overwrite, inputs=inputs)
        check_output(sidecar_path, overwrite=overwrite, inputs=inputs)
        if output_path.resolve() == sidecar_path.resolve():
            raise OutputError("the sidecar and the video would have the same name", hint="pass --sidecar")
        if signer is not None:
            check_signable(source, output_path, sidecar, sidecar_path)
            check_output(manifest_path(output_path), overwrite=overwrite)
        video = opened if opened is not None else VideoSource(source)
        info = video.info
        span = time_span_for(info, start, end, self.config.keep_audio)
        self.reset()
        originals_file: Path | None = None
        if seal_originals_to is not None:
            from recanon_sdk.run_paths import originals_path_for

            if info.kind in ("image", "images") and output_path.suffix.lower() not in CONTAINER_BY_SUFFIX:
                raise OutputError(
                    "sealed originals need a video output",
                    hint="pass -o NAME.mp4 to write the images as one video, or drop --seal-originals",
                )
            originals_file = originals_path_for(output_path)
            check_output(originals_file, overwrite=overwrite, inputs=inputs)
        header = run_header(self, info, output_path)
        header["anonymization"].update(header_additions(self, span))
        outputs = self._open_outputs(
            video, output_path, sidecar_path, header, signer, seal_originals_to, originals_config,
            originals_file,
        )  # fmt: skip
        if on_sidecar_line is not None:
            outputs.sidecar.on_line.append(on_sidecar_line)
        result = RunResult(output=output_path, sidecar=sidecar_path)
        tracks: set[int] = set()
        started = time.perf_counter()
        pipeline = ThreadedPipeline(self.config.queue_size)
        live = info.kind == "stream"
        try:
            cut = span.cut(video)
            frames_in = pipeline.start_reader(limited(cut, max_frames))

            def encode(item: FrameOutput) -> None:
                if item.frame.index == 0:
                    outputs.sink.rotation = video.rotation
                outputs.write(item)
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
                for batch in batches(frames_in, self.config.batch_size):
                    interrupts.check()
                    if info.kind == "images":  # independent photos: nothing carries over
                        found_in = zip(batch, self._detect(batch), strict=True)
                    else:
                        found_in = self._found(batch)
                    for frame, found in found_in:
                        if info.kind == "images":
                            self.reset()
                        item = self._anonymize(frame, found)
                        self._observe(item)
                        if on_frame is not None:
                            on_frame(item.image, item.people, item.status)
                        pipeline.put(item)
                interrupts.check()
            except KeyboardInterrupt:
                pipeline.stop_reader()
                if not live:
                    raise
                result.stopped_early = "interrupted (Ctrl-C); the stream output was finalized"
            pipeline.finish()
            if result.frames == 0:
                raise OutputError(
                    f"no frame could be decoded from '{redact_url(source)}'"
                    + ("" if span.whole else f" between {start} s and {end} s"),
                    hint="the file may be corrupt or not a video"
                    if span.whole
                    else "check start/end against the input's duration",
                )
            result.stopped_early = result.stopped_early or video.stopped_early
            result.tracks = len(tracks)
            result.seconds = time.perf_counter() - started
            if not live:
                interrupts.check()  # a stop that arrived during the last frames: nothing is committed
            originals, result.manifest = outputs.finish(
                {
                    "frames": result.frames,
                    "persons": result.persons,
                    "tracks": result.tracks,
                    "obscured_frames": result.obscured_frames,
                    "stopped_early": result.stopped_early,
                    "dropped_non_monotonic": video.dropped_non_monotonic,
                    **({} if span.whole else {"span": {**span.record(), "source_start": cut.source_start}}),
                },
                source=None if live else source,
                models=model_hashes(self),
            )
            if originals is not None:
                result.originals, result.originals_bytes = originals_file, originals["size"]
        except KeyboardInterrupt:
            pipeline.abort()
            outputs.abort()
            raise Interrupted("interrupted (Ctrl-C); the partial outputs were removed") from None
        except BaseException:
            pipeline.abort()
            outputs.abort()
            raise
        return result

    def _open_outputs(
        self,
        video: VideoSource,
        output_path: Path,
        sidecar_path: Path,
        header: dict[str, Any],
        signer: RunSigner | None,
        seal_to: rk.Deployment | None,
        originals_config: OriginalsConfig | None,
        originals_file: Path | None,
    ) -> RunOutputs:
        """Open every output of the run under temporary names (all removed again if one fails)."""
        info, source = video.info, video.source
        sink: VideoSink | ImageSink | None = None
        originals: OriginalsOutput | None = None
        started_signer = False
        try:
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
            if seal_to is not None and originals_file is not None:
                from recanon_sdk.originals import CONTENT, OriginalsConfig

                originals_config = originals_config or OriginalsConfig()
                originals = OriginalsOutput(
                    originals_file, seal_to, info.width, info.height, originals_config
                )
                header["originals"] = {
                    "name": display_name(originals_file.name),
                    "content": CONTENT,
                    "deployment_id": seal_to.deployment_id,
                    "lossless": originals_config.lossless,
                    "run_id": originals.run_id.hex(),
                }
            if signer is not None:
                signer.begin(output_path)
                started_signer = True
            writer = SidecarWriter(sidecar_path, header)
        except BaseException as error:
            for part in (sink, originals, signer if started_signer else None):
                if part is not None:
                    part.abort()
            if isinstance(error, OSError):
                raise OutputError(f"cannot write '{error.filename}': {error.strerror}") from None
            raise
        return RunOutputs(output_path, sink, writer, originals=originals, signer=signer)


_NO_TIME = Fraction(1, 1)


def _event(kind: str, error: BaseException) -> dict[str, Any]:
    return {"kind": kind, "error": type(error).__name__, "message": redact_url(str(error))[:200]}
