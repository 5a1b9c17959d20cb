"""The pose model loads in a background thread while one video's run imports and checks the rest.

ONNX Runtime builds its session (about 0.13 s for the packaged model on 2 cores) without holding
Python's lock, so the import of the video and rendering code and the checks of the inputs and the
outputs run beside it instead of before it. Nothing changes in what the run reports or writes: a
check that fails still ends the run with its sentence (the load is dropped), and an error of the
load itself is raised where the model would have been loaded, after every check, as before.

Only a run that certainly needs the model starts it early: one existing video file, on the CPU, on
the onnx backend. Everything else loads the model in its place (:func:`start_model_loading` returns
``None``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recanon_cli.commands.anonymize.options import AnonymizeOptions
from recanon_cli.commands.anonymize.settings import detector_settings

if TYPE_CHECKING:
    from recanon_sdk.detect.pose import DetectorConfig

__all__ = ["ModelLoading", "start_model_loading"]


class ModelLoading:
    """A pose detector being created in a thread for ``config``; :meth:`take` waits for it."""

    def __init__(self, config: DetectorConfig, opts: AnonymizeOptions) -> None:
        from recanon_sdk.detect.backend import create_pose_detector

        self.config = config
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recanon-model")
        backend, engine = opts.backend.value, opts.engine.value
        self._future: Future[Any] = executor.submit(
            create_pose_detector, config, backend, providers=opts.providers, engine=engine
        )
        executor.shutdown(wait=False)  # the thread ends with the load; the interpreter waits for it

    def take(self, config: DetectorConfig) -> Any | None:
        """The detector, once loaded, if it was loaded for ``config`` (an error of that load is
        raised here); else ``None`` at once: load it anew."""
        return self._future.result() if config == self.config else None


def start_model_loading(source: str, opts: AnonymizeOptions) -> ModelLoading | None:
    """Start loading the pose model for a run of ``source`` with ``opts`` when the run certainly needs
    it (an existing video file, the CPU, the onnx backend); ``None`` otherwise, or when the options
    do not make a valid detector configuration (the run reports that in its place)."""
    from recanon_sdk.video.kinds import IMAGE_SUFFIXES  # light: no video library

    path = Path(source)
    if not opts.on_cpu or path.suffix.lower() in IMAGE_SUFFIXES:
        return None
    if not path.is_file():
        return None
    try:
        from recanon_sdk.detect.backend import choose_backend
        from recanon_sdk.detect.onnx_pose import OnnxPoseDetector  # noqa: F401  imported here, not in the thread

        config = detector_settings(opts, stills=False)
        if choose_backend(opts.backend.value, config.weights, config.device) != "onnx":
            return None
        import onnxruntime  # noqa: F401  its import holds the lock: here, before the thread starts
    except Exception:  # an invalid option or a missing package: the run reports it in its place
        return None
    return ModelLoading(config, opts)
