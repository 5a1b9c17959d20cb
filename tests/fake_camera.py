"""Live cameras on loopback for tests and soak runs: HTTP servers that stream MPEG-TS, encoded as served.

Each connection gets a stream whose timestamps go on from 0; frames are encoded with PyAV into the
socket, in real time (``fps``) or as fast as the client reads. A camera can drop: close every
connection after ``frames_per_connection`` frames, and refuse connections while it is ``down``
(``go_down(seconds)``), as a camera that reboots does.

>>> with FakeCameras(["a"], size=(96, 128), fps=25) as cams:   # doctest: +SKIP
...     url = cams.url("a")
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from fractions import Fraction

import av
import numpy as np


class _Camera:
    def __init__(
        self, name: str, size: tuple[int, int], fps: int, frames_per_connection: int | None, realtime: bool
    ):
        self.name = name
        self.size = size
        self.fps = fps
        self.frames_per_connection = frames_per_connection
        self.realtime = realtime
        self.down_until = 0.0
        self.connections = 0
        self.refused = 0
        self.frames_sent = 0
        h, w = size
        rng = np.random.default_rng(abs(hash(name)) % 2**32)
        blocks = rng.integers(30, 220, size=(-(-h // 8), -(-w // 8), 3), dtype=np.uint8)
        self.base = np.ascontiguousarray(np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:h, :w])

    def go_down(self, seconds: float) -> None:
        """Refuse connections for ``seconds`` (open ones end at their next frame)."""
        self.down_until = time.monotonic() + seconds

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until


class _Writer:
    """A write-only file object over the socket (MPEG-TS needs no seeking)."""

    def __init__(self, wfile):
        self.wfile = wfile

    def write(self, data) -> int:
        self.wfile.write(data)
        return len(data)

    def flush(self) -> None:
        self.wfile.flush()


class FakeCameras:
    """Serve ``names`` as ``http://127.0.0.1:PORT/NAME.ts`` (see the module docstring)."""

    def __init__(
        self,
        names: list[str],
        *,
        size: tuple[int, int] = (96, 128),
        fps: int = 25,
        frames_per_connection: int | None = None,
        realtime: bool = True,
    ) -> None:
        self.cameras = {n: _Camera(n, size, fps, frames_per_connection, realtime) for n in names}
        cameras = self.cameras

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                name = self.path.lstrip("/").split("?")[0].removesuffix(".ts")
                camera = cameras.get(name)
                if camera is None:
                    self.send_error(404)
                    return
                if camera.down:
                    camera.refused += 1
                    self.send_error(503)
                    return
                camera.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                with contextlib.suppress(
                    BrokenPipeError, ConnectionResetError, av.error.FFmpegError, OSError
                ):
                    _stream(camera, self.wfile)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str, credentials: str = "") -> str:
        return f"http://{credentials}127.0.0.1:{self.server.server_address[1]}/{name}.ts"

    def __enter__(self) -> FakeCameras:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _stream(camera: _Camera, wfile) -> None:
    h, w = camera.size
    time_base = Fraction(1, 90000)
    step = 90000 // camera.fps
    with av.open(_Writer(wfile), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=camera.fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(camera.fps)}
        started = time.monotonic()
        index = 0
        while camera.frames_per_connection is None or index < camera.frames_per_connection:
            if camera.down:
                return  # the camera went down: the connection drops mid-stream
            if camera.realtime:
                wait = started + index / camera.fps - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            frame = av.VideoFrame.from_ndarray(np.roll(camera.base, index * 8 % w, axis=1), format="rgb24")
            frame.pts = index * step
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            wfile.flush()
            index += 1
            camera.frames_sent += 1
        for packet in stream.encode(None):
            container.mux(packet)
