"""``recanon train``: train GX/GY (and optionally DX, DY, P) from a TOML config.

Register with ``app.command()(train.train)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, require_torch, stdout


def train(
    config: Annotated[Path, typer.Argument(help="Training config (TOML), e.g. configs/tiny.toml.")],
    steps: Annotated[int | None, typer.Option("--steps", help="Train until this step.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (checkpoints, weights, metrics.csv).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the run folder's checkpoint.safetensors.")
    ] = False,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data", help="Folder of person crops to train on instead of the config's sources; repeatable."
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Portraits per step.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads for torch.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any setting: section.key=value (TOML value), repeatable."),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Train the learned privacy models (GX, GY) and write gx.safetensors and gy.safetensors.

    A config with task = "scene_pose" (research/configs/scene_pose.toml) instead fine-tunes the pose model on
    whole anonymized frames and writes pose.pt.
    """
    require_torch("recanon train")
    from recanon_sdk.training.config import apply_overrides, load_config
    from recanon_sdk.training.loop import CHECKPOINT_NAME
    from recanon_sdk.training.loop import train as run_training

    if not config.is_file():
        fail(f"config file {config} does not exist.", "Try configs/tiny.toml for a smoke run.")
    if _is_scene_config(config):
        if device not in (None, "cpu"):
            fail("the scene_pose stage runs on the CPU only for now.", "Drop --device.")
        _train_scene_pose(config, list(set_ or []) + _flag_overrides(steps, batch_size, threads, out))
        return
    try:
        cfg = load_config(config)
    except (ValueError, OSError) as exc:
        fail(f"cannot read config {config}: {exc}.")
    overrides = list(set_ or []) + _flag_overrides(steps, batch_size, threads, out)
    if device is not None:
        overrides.append(f"device={device!r}")
    try:
        cfg = apply_overrides(cfg, overrides)
    except ValueError as exc:
        fail(f"bad setting: {exc}.", "Use --set section.key=value, e.g. --set loss.lambda_pe=0.5.")
    if data:
        from recanon_sdk.training.config import SourceConfig

        missing = [p for p in data if not p.is_dir()]
        if missing:
            fail(f"data folder {missing[0]} does not exist.")
        cfg.data.sources = [SourceConfig(kind="folder", path=str(p)) for p in data]
    if resume and not (Path(cfg.out) / CHECKPOINT_NAME).is_file():
        fail(
            f"nothing to resume: {Path(cfg.out) / CHECKPOINT_NAME} does not exist.",
            "Drop --resume to start fresh.",
        )
    try:
        result = run_training(cfg, resume=resume, progress=progress)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        fail(f"training failed: {exc}.")
    m = result.metrics
    stdout.print(
        f"trained to step {result.step}: recovery {m.get('psnr_rec', float('nan')):.1f} dB, "
        f"GX vs raw {m.get('psnr_gx_raw', float('nan')):.1f} dB",
        markup=False,
    )
    stdout.print(f"weights: {result.gx_path} {result.gy_path}", markup=False)
    stdout.print(f"metrics: {result.out_dir / 'metrics.csv'}", markup=False)


def _is_scene_config(config: Path) -> bool:
    import tomllib

    from recanon_sdk.training.scene_pose import is_scene_config

    try:
        with config.open("rb") as handle:
            return is_scene_config(tomllib.load(handle))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False  # load_config gives the clear message


def _flag_overrides(
    steps: int | None, batch_size: int | None, threads: int | None, out: Path | None
) -> list[str]:
    """The ``key=value`` overrides that the command's own flags stand for (top-level keys)."""
    overrides = []
    if steps is not None:
        if steps < 1:
            fail("--steps must be at least 1.")
        overrides.append(f"steps={steps}")
    if batch_size is not None:
        if batch_size < 1:
            fail("--batch-size must be at least 1.")
        overrides.append(f"batch_size={batch_size}")
    if threads is not None:
        overrides.append(f"threads={threads}")
    if out is not None:
        overrides.append(f"out={str(out)!r}")
    return overrides


def _train_scene_pose(config: Path, overrides: list[str]) -> None:
    """``task = "scene_pose"``: fine-tune P on whole anonymized frames (recanon_sdk.training.scene_pose)."""
    import logging

    from recanon_sdk.training.scene_pose import finetune_on_scenes, load_scene_config

    try:
        cfg = load_scene_config(config, overrides)
    except (ValueError, OSError) as exc:
        fail(f"cannot read config {config}: {exc}.")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        pose = finetune_on_scenes(cfg)
    except (FileNotFoundError, ValueError) as exc:
        fail(f"training failed: {exc}.")
    stdout.print(f"P fine-tuned on scenes: {pose}", markup=False)
    stdout.print(f"metrics: {pose.parent / 'metrics.csv'}", markup=False)
