"""Many files at once: folders, globs and lists; a bad file reported while the rest complete; resume after
an interruption or a crash redoes only what is not complete; worker processes; nothing half-written."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from recanon_sdk.anonymizer import AnonymizerConfig
from recanon_sdk.batch import BatchSettings, anonymize_many, folder_mode, plan_batch
from recanon_sdk.batch.completion import sidecar_end
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.errors import InputError, OutputError

from tests.conftest import ROOT, write_test_video
from tests.test_cli import RECANON

FAST = ["--imgsz", "160"]  # small inputs, a small detector size: seconds per test on 2 busy cores
DEMO = ROOT / "examples" / "demo"


def fast_settings() -> BatchSettings:
    config = AnonymizerConfig(detector=DetectorConfig(imgsz=160, zoom_out=0))
    return BatchSettings(video=config, stills=config)


def clip(path: Path, frames: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_test_video(path, [i * 40 for i in range(frames)], size=(120, 160))
    return path


def image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(path.name))
    cv2.imwrite(str(path), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    return path


def recanon(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RECANON, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".partial" in p.name]


def complete(sidecar: Path) -> bool:
    return sidecar.is_file() and (sidecar_end(sidecar) or {}).get("complete") is True


# -- planning -------------------------------------------------------------------------------------


def test_plan_mirrors_the_tree_and_skips_hidden_files_and_the_output_folder(tmp_path):
    archive = tmp_path / "archive"
    for rel in (
        "cam1/a.mp4",
        "cam1/b.ts",
        "cam2/deep/c.mkv",
        "walk.gif",
        "p.jpg",
        "notes.txt",
        ".hidden.mp4",
        ".x/d.mp4",
    ):
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        (archive / rel).write_bytes(b"x")
    (archive / "anon" / "old.mp4").parent.mkdir()
    (archive / "anon" / "old.mp4").write_bytes(b"x")  # an earlier run's output inside the input tree
    jobs = plan_batch([archive], archive / "anon")
    got = {j.relative.as_posix(): (j.output.relative_to(archive / "anon").as_posix(), j.kind) for j in jobs}
    assert got == {
        "cam1/a.mp4": ("cam1/a.mp4", "video"),
        "cam1/b.ts": ("cam1/b.mp4", "video"),  # a suffix recanon does not write becomes .mp4
        "cam2/deep/c.mkv": ("cam2/deep/c.mkv", "video"),
        "walk.gif": ("walk.mp4", "video"),  # an animated GIF is a video
        "p.jpg": ("p.jpg", "image"),
    }
    default = plan_batch([archive / "cam1"])  # no -o: FOLDER.anon beside the folder
    assert {j.output for j in default} == {archive / "cam1.anon" / "a.mp4", archive / "cam1.anon" / "b.mp4"}
    globbed = plan_batch([str(archive / "cam*" / "**" / "*.mkv")], tmp_path / "out")
    assert [j.output for j in globbed] == [tmp_path / "out" / "cam2" / "deep" / "c.mkv"]


def test_colliding_outputs_are_refused_before_any_work(tmp_path):
    clip(tmp_path / "in" / "walk.mp4")
    clip(tmp_path / "in" / "walk.mkv")  # both would write walk.pose.jsonl
    with pytest.raises(OutputError, match="would both write") as caught:
        plan_batch([tmp_path / "in"], tmp_path / "out")
    assert "walk.pose.jsonl" in caught.value.message
    clip(tmp_path / "two" / "a.mp4")
    clip(tmp_path / "two" / "sub" / "A.mp4")
    clip(tmp_path / "other" / "A.MP4")
    with pytest.raises(OutputError, match="would both write"):  # names that differ only in case
        plan_batch([tmp_path / "two" / "a.mp4", tmp_path / "other" / "A.MP4"], tmp_path / "out")
    result = recanon("anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST)
    assert result.returncode == 1 and "would both write" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
    with pytest.raises(OutputError, match="would replace the input"):
        plan_batch([tmp_path / "two"], tmp_path / "two")  # -o the very folder of the inputs
    with pytest.raises(InputError, match="a batch reads files"):
        plan_batch(["rtsp://cam/stream", tmp_path / "in"], tmp_path / "out")


def test_a_folder_of_images_stays_one_stills_job_and_a_folder_with_videos_is_a_batch(tmp_path):
    photos = tmp_path / "photos"
    image(photos / "p0.jpg")
    image(photos / "sub" / "p1.jpg")
    assert folder_mode(photos) == "stills"
    result = recanon("anonymize", str(photos), "-q", *FAST)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "photos.anon").iterdir()) == ["p0.jpg"]  # as before
    assert (tmp_path / "photos.anon.pose.jsonl").is_file()
    only_below = tmp_path / "only_below"
    image(only_below / "day1" / "p.jpg")
    assert folder_mode(only_below) == "batch"  # images only in subfolders: each anonymized as a still
    clip(photos / "sub" / "door.mp4")
    assert folder_mode(photos) == "batch"


# -- a batch on this machine ----------------------------------------------------------------------


def test_folder_batch_with_a_corrupt_file_reports_it_and_completes_the_rest(tmp_path):
    archive = tmp_path / "archive"
    clip(archive / "a.mp4")
    clip(archive / "day2" / "b.mkv")
    image(archive / "day2" / "door.png")
    (archive / "day2" / "broken.mp4").write_text("this is not a video\n" * 20)
    out = tmp_path / "anon"
    result = recanon("anonymize", str(archive), "-o", str(out), "--json")
    assert result.returncode == 1, result.stderr
    assert "recanon: error: 1 of 4 files failed; the other 3 are complete" in result.stderr
    assert "Traceback" not in result.stderr
    by_input = {Path(r["input"]).name: r for r in records(result.stdout)}
    assert set(by_input) == {"a.mp4", "b.mkv", "door.png", "broken.mp4"}
    assert by_input["broken.mp4"]["status"] == "failed" and "not a video" in by_input["broken.mp4"]["error"]
    for name, rel in (("a.mp4", "a.mp4"), ("b.mkv", "day2/b.mkv"), ("door.png", "day2/door.png")):
        record = by_input[name]
        assert record["status"] == "done" and record["outputs"]["output"] == str(out / rel)
        assert complete(Path(record["outputs"]["sidecar"])) and Path(record["outputs"]["output"]).is_file()
    assert by_input["a.mp4"]["frames"] == 12
    header = json.loads((out / "day2" / "door.pose.jsonl").read_text().splitlines()[0])
    assert header["models"]["pose"]["imgsz"] == 1280 and header["models"]["pose"]["tiles"] == [2, 2]  # stills
    video_header = json.loads((out / "a.pose.jsonl").read_text().splitlines()[0])
    assert video_header["models"]["pose"]["tiles"] == [1, 1]
    assert not partials(out) and not (out / "day2" / "broken.mp4").exists()


def test_several_arguments_and_a_glob(tmp_path):
    clip(tmp_path / "x" / "one.mp4")
    clip(tmp_path / "y" / "two.mp4")
    clip(tmp_path / "y" / "three.mp4")
    result = recanon(
        "anonymize", str(tmp_path / "x" / "one.mp4"), str(tmp_path / "y" / "t*.mp4"), "-o",
        str(tmp_path / "out"), "-q", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".mp4") == [
        "one.mp4", "three.mp4", "two.mp4",
    ]  # fmt: skip


def test_existing_outputs_are_refused_before_work_without_resume(tmp_path):
    clip(tmp_path / "in" / "a.mp4")
    clip(tmp_path / "in" / "b.mp4")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.mp4").write_bytes(b"precious")
    result = recanon("anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST)
    assert result.returncode == 1 and "1 of 2 outputs exist already" in result.stderr
    assert "--resume" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.mp4"]
    assert (tmp_path / "out" / "b.mp4").read_bytes() == b"precious"


def test_two_jobs_run_in_two_worker_processes(tmp_path):
    for i in range(4):
        clip(tmp_path / "in" / f"c{i}.mp4", frames=16)
    report = anonymize_many([tmp_path / "in"], tmp_path / "out", jobs=2, settings=fast_settings())
    assert [r.status for r in report.results] == ["done"] * 4, [r.error for r in report.results]
    pids = {r.worker.rsplit(":", 1)[1] for r in report.results}
    assert len(pids) == 2 and str(os.getpid()) not in pids
    assert report.progress.done == 4 and report.progress.frames == 64 and report.exit_code == 0


# -- interruptions, crashes and resume ------------------------------------------------------------


def _start_batch(src: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RECANON, "anonymize", str(src), "-o", str(out), "-j", "1", "-q", *FAST],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )


def _wait_until_mid_batch(out: Path, process: subprocess.Popen[str]) -> None:
    """Until the first file is complete and the next one is being written."""
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if complete(out / "c0.pose.jsonl") and partials(out):
            return
        time.sleep(0.05)
    raise AssertionError(f"the batch never got to its second file: {process.poll()}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "crash"])
def test_resume_after_an_interrupted_batch_redoes_only_the_unfinished_files(tmp_path, signum):
    for i in range(4):
        clip(tmp_path / "in" / f"c{i}.mp4", frames=60)
    out = tmp_path / "out"
    process = _start_batch(tmp_path / "in", out)
    _wait_until_mid_batch(out, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    finished = sorted(p.name for p in out.glob("c*.pose.jsonl") if complete(p))
    assert 1 <= len(finished) < 4
    kept = {name: (out / name).stat().st_mtime_ns for name in finished}
    if signum == signal.SIGINT:
        assert process.returncode == 130 and "--resume" in stderr and "Traceback" not in stderr
        assert not partials(out), "Ctrl-C left temporaries"
    else:
        assert process.returncode == -signal.SIGKILL and partials(out), "a crash leaves its temporaries"
    again = recanon("anonymize", str(tmp_path / "in"), "-o", str(out), "--resume", "--json", *FAST)
    assert again.returncode == 0, again.stderr
    statuses = {Path(r["input"]).name: r["status"] for r in records(again.stdout)}
    runs = sum(s == "done" for s in statuses.values())
    assert runs == 4 - len(finished), statuses  # the pipeline ran only for the unfinished files
    assert sum(s == "skipped" for s in statuses.values()) == len(finished)
    assert {name: (out / name).stat().st_mtime_ns for name in finished} == kept  # not rewritten
    cleaned = sum(r["cleaned_temporaries"] for r in records(again.stdout))
    assert cleaned >= (1 if signum == signal.SIGKILL else 0)
    assert not partials(out)
    assert all(complete(out / f"c{i}.pose.jsonl") for i in range(4))


def test_resume_reports_an_incomplete_output_and_redoes_it_only_with_overwrite(tmp_path):
    for i in range(2):
        clip(tmp_path / "in" / f"c{i}.mp4")
    out = tmp_path / "out"
    assert recanon("anonymize", str(tmp_path / "in"), "-o", str(out), "-q", *FAST).returncode == 0
    sidecar = out / "c1.pose.jsonl"
    lines = sidecar.read_text().splitlines(keepends=True)
    sidecar.write_text("".join(lines[:-1]))  # its end record gone: something else wrote or cut it
    damaged = sidecar.read_bytes()
    result = recanon("anonymize", str(tmp_path / "in"), "-o", str(out), "--resume", "--json", *FAST)
    assert result.returncode == 1, result.stderr
    statuses = {Path(r["input"]).name: r for r in records(result.stdout)}
    assert statuses["c0.mp4"]["status"] == "skipped"
    assert statuses["c1.mp4"]["status"] == "failed" and "no end record" in statuses["c1.mp4"]["error"]
    assert sidecar.read_bytes() == damaged  # never overwritten without --overwrite
    redo = recanon(
        "anonymize", str(tmp_path / "in"), "-o", str(out), "--resume", "--overwrite", "--json", *FAST
    )
    assert redo.returncode == 0, redo.stderr
    assert [r["status"] for r in records(redo.stdout)] == ["skipped", "done"]
    assert complete(sidecar)


def test_a_signed_batch_resumes_only_over_outputs_that_verify(tmp_path):
    for i in range(2):
        clip(tmp_path / "in" / f"c{i}.mp4")
    out = tmp_path / "out"
    signing = ["--deployment", str(DEMO / "demo.deployment"), "--device-key", str(DEMO / "DEMO-device.key")]
    first = recanon("anonymize", str(tmp_path / "in"), "-o", str(out), "-q", *signing, *FAST)
    assert first.returncode == 0, first.stderr
    assert (out / "c0.manifest.json").is_file() and (out / "c1.pose.jsonl.sig").is_file()
    video = out / "c1.mp4"
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the sidecar is still complete, but the video is not what was signed
    video.write_bytes(bytes(data))
    result = recanon("anonymize", str(tmp_path / "in"), "-o", str(out), "--resume", "--json", *signing, *FAST)
    assert result.returncode == 1, result.stderr
    by_input = {Path(r["input"]).name: r for r in records(result.stdout)}
    assert by_input["c0.mp4"]["status"] == "skipped"
    assert by_input["c1.mp4"]["status"] == "failed" and "does not verify" in by_input["c1.mp4"]["error"]
    redo = recanon(
        "anonymize", str(tmp_path / "in"), "-o", str(out), "--resume", "--overwrite", "-q", *signing, *FAST
    )
    assert redo.returncode == 0, redo.stderr
    verified = recanon("verify", str(video), "-d", str(DEMO / "demo.deployment"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def descendants_holding(path_part: str) -> list[int]:
    """Pids of this test's descendant processes that have a file whose name contains ``path_part`` open."""
    mine = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == mine:
            continue
        pid = int(entry)
        with contextlib.suppress(OSError):
            ancestor = pid
            while ancestor > 1 and ancestor != mine:
                stat = Path(f"/proc/{ancestor}/stat").read_text()
                ancestor = int(stat.rsplit(")", 1)[1].split()[1])
            if ancestor != mine:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if path_part in os.readlink(f"/proc/{pid}/fd/{fd}"):
                        found.append(pid)
                        break
    return found


def kill_a_worker_mid_file(out: Path, name: str, killed: list, deadline_s: float = 120) -> None:
    """Kill (SIGKILL) the process writing ``name``'s outputs once it has written frames; record its pid
    and the temporaries it leaves (``(pid, [names])`` in ``killed``)."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        sidecars = list(out.glob(f".{name}.pose.*.partial.jsonl"))
        if sidecars and sidecars[0].read_text(errors="replace").count('"type":"frame"') >= 3:
            pids = descendants_holding(sidecars[0].name)
            if pids:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
                killed.append((pids, [p.name for p in out.glob(f".{name}.*partial*")]))
                return
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the worker through /proc (Linux)")
def test_a_killed_worker_process_has_its_file_redone_from_scratch(tmp_path):
    import threading

    for i in range(3):
        clip(tmp_path / "in" / f"c{i}.mp4", frames=80 if i == 0 else 16)
    out = tmp_path / "out"
    killed: list[int] = []
    killer = threading.Thread(target=kill_a_worker_mid_file, args=(out, "c0", killed))
    killer.start()
    report = anonymize_many([tmp_path / "in"], out, jobs=2, settings=fast_settings())
    killer.join()
    assert killed, "no worker was caught in the middle of c0.mp4"
    ((pids, left),) = killed
    assert left, "the killed attempt left no temporaries to clean"
    assert [r.status for r in report.results] == ["done"] * 3, [r.error for r in report.results]
    first = report.results[0]
    assert first.attempts == 2 and first.cleaned_temporaries == len(left) and first.frames == 80
    assert first.worker.rsplit(":", 1)[1] not in {str(p) for p in pids}
    assert [f.index for f in _sidecar_frames(out / "c0.pose.jsonl")] == list(range(80))
    assert not partials(out) and not any((out / name).exists() for name in left)


def _sidecar_frames(path: Path):
    from recanon_sdk.video.sidecar import Sidecar

    return list(Sidecar(path).frames())


def test_ray_without_the_extra_says_how_to_install_it(tmp_path):
    clip(tmp_path / "in" / "a.mp4")
    blocker = (
        "import importlib.abc, sys\n"
        "class _NoRay(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'ray':\n"
        "            raise ModuleNotFoundError(name=name)\n"
        "sys.meta_path.insert(0, _NoRay())\n"
        "from recanon_cli.main import main\n"
        "sys.argv = ['recanon', *sys.argv[1:]]\n"
        "main()\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            blocker,
            "anonymize",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
            "--ray",
            "auto",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "recanon: error: --ray needs the ray extra" in result.stderr
    assert "pip install 'recanon[ray]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_worker_processes_are_replaced_after_a_number_of_files(tmp_path, monkeypatch):
    from recanon_sdk.batch import local

    monkeypatch.setattr(local, "FILES_PER_WORKER", 2)  # bounded memory: a fresh process every 2 files
    for i in range(6):
        clip(tmp_path / "in" / f"c{i}.mp4", frames=4)
    report = anonymize_many([tmp_path / "in"], tmp_path / "out", jobs=2, settings=fast_settings())
    assert [r.status for r in report.results] == ["done"] * 6
    assert len({r.worker for r in report.results}) >= 3


def test_a_worker_loads_the_device_key_once_and_again_when_its_file_changes(tmp_path, monkeypatch):
    import shutil

    from recanon_sdk.batch import worker
    from recanon_sdk.batch.jobs import SigningSpec

    demo = ROOT / "examples" / "demo"
    for name in ("demo.deployment", "DEMO-device.key"):
        shutil.copy(demo / name, tmp_path / name)
    loads = []
    load = SigningSpec.load
    monkeypatch.setattr(SigningSpec, "load", lambda self: loads.append(1) or load(self))
    monkeypatch.setattr(worker, "_signers", {})
    spec = SigningSpec(tmp_path / "demo.deployment", tmp_path / "DEMO-device.key")
    first = worker.signer_for(spec)
    assert worker.signer_for(spec) is first and len(loads) == 1  # not once per file
    key = tmp_path / "DEMO-device.key"
    stat = key.stat()
    os.utime(key, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a rewritten file is read again
    worker.signer_for(spec)
    assert len(loads) == 2
