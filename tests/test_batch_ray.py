"""A batch on Ray (local, 2 CPUs): every file a task; a worker killed in the middle of a file has the file
redone from scratch by a retry, which first removes the dead attempt's temporaries; nothing half-written.

Needs the ``ray`` extra (``pip install 'recanon[ray]'``, also in ``.[dev]``); skipped without it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'recanon[ray]'")

from recanon_sdk.batch import anonymize_many  # noqa: E402

from tests.test_batch import (  # noqa: E402
    _sidecar_frames,
    clip,
    complete,
    fast_settings,
    kill_a_worker_mid_file,
    partials,
)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the worker through /proc (Linux)")
def test_ray_anonymizes_several_files_and_redoes_the_file_of_a_killed_worker(local_ray, tmp_path):
    for i in range(4):
        clip(tmp_path / "in" / f"c{i}.mp4", frames=80 if i == 0 else 16)
    out = tmp_path / "out"
    killed: list = []
    killer = threading.Thread(target=kill_a_worker_mid_file, args=(out, "c0", killed))
    killer.start()
    events: list = []
    report = anonymize_many(
        [tmp_path / "in"], out, ray="auto", settings=fast_settings(), on_event=events.append
    )
    killer.join()
    assert report.runner == "ray (auto)"
    assert killed, "no Ray worker was caught in the middle of c0.mp4"
    ((pids, left),) = killed
    assert left, "the killed attempt left no temporaries"
    assert [r.status for r in report.results] == ["done"] * 4, [r.error for r in report.results]
    first = report.results[0]
    assert first.frames == 80 and first.cleaned_temporaries == len(left)
    assert first.worker.rsplit(":", 1)[1] not in {str(p) for p in pids}  # redone by another worker
    assert [f.index for f in _sidecar_frames(out / "c0.pose.jsonl")] == list(range(80))
    assert all(complete(out / f"c{i}.pose.jsonl") for i in range(4))
    assert not partials(out) and not any((out / name).exists() for name in left)
    assert any(e[0] == "frames" for e in events), "no progress reached the driver"
    assert report.progress.done == 4 and report.progress.frames == 80 + 3 * 16


def test_ray_reports_a_bad_file_and_completes_the_rest(local_ray, tmp_path):
    clip(tmp_path / "in" / "good.mp4")
    (tmp_path / "in" / "bad.mp4").write_text("not a video\n" * 20)
    report = anonymize_many([tmp_path / "in"], tmp_path / "out", ray="auto", settings=fast_settings())
    by_name = {Path(r.input).name: r for r in report.results}
    assert by_name["bad.mp4"].status == "failed" and "not a video" in by_name["bad.mp4"].error
    assert by_name["good.mp4"].status == "done" and report.exit_code == 1
