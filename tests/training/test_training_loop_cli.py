"""The training loop (tiny runs), safetensors checkpoints with resume, and ``recanon train``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from recanon_cli.commands.train import train as train_command
from recanon_sdk.datasets import shared_data_dir
from recanon_sdk.models import create_model
from recanon_sdk.training.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from recanon_sdk.training.config import apply_overrides, load_config
from recanon_sdk.training.loop import Trainer, train
from safetensors import safe_open
from typer.testing import CliRunner

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny.toml"
INRIA = shared_data_dir() / "images" / "inria_person"


def _tiny(tmp_path: Path, *extra: str):
    return apply_overrides(
        load_config(TINY), [f"out={str(tmp_path / 'run')!r}", "data.size=[64, 32]", *extra]
    )


def test_checkpoint_round_trip_restores_models_and_optimizer(tmp_path: Path) -> None:
    model = create_model("d_patchgan_s")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    model(torch.rand(1, 3, 64, 32), torch.rand(1, 3, 64, 32)).mean().backward()
    opt.step()
    sched.step()
    path = save_checkpoint(tmp_path / "c.safetensors", 7, {"d": model}, {"d": opt}, {"d": sched}, {"a": 1})
    fresh = create_model("d_patchgan_s")
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=1e-3)
    fresh_sched = torch.optim.lr_scheduler.ExponentialLR(fresh_opt, 0.9)
    assert load_checkpoint(path, {"d": fresh}, {"d": fresh_opt}, {"d": fresh_sched}) == 7
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    st_a, st_b = opt.state_dict()["state"][0], fresh_opt.state_dict()["state"][0]
    assert torch.equal(st_a["exp_avg"], st_b["exp_avg"]) and float(st_a["step"]) == float(st_b["step"])
    assert fresh_opt.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert read_checkpoint_meta(path) == {"step": 7, "config": {"a": 1}}
    with safe_open(str(path), framework="pt") as f:  # a plain safetensors file, no pickle
        assert "model/d/body.0.0.weight" in list(f.keys())


def test_tiny_training_writes_weights_metrics_and_resumes(tmp_path: Path) -> None:
    cfg = _tiny(tmp_path, "steps=2", "ckpt_every=1")
    result = train(cfg, progress=False)
    assert result.step == 2
    assert result.gx_path and result.gx_path.is_file() and result.gy_path and result.gy_path.is_file()
    rows = list(csv.DictReader((result.out_dir / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2]
    for key in ("loss_xy", "loss_l1", "loss_adv_g", "loss_d", "psnr_rec", "psnr_rec_wrong_key"):
        assert math.isfinite(float(rows[-1][key])), key
    saved = json.loads((result.out_dir / "config.json").read_text())
    assert saved["steps"] == 2

    again = train(apply_overrides(cfg, ["steps=3"]), resume=True, progress=False)
    assert again.step == 3
    assert [int(r["step"]) for r in csv.DictReader((result.out_dir / "metrics.csv").open())] == [1, 2, 3]


def test_a_pinned_gx_stage_starts_from_an_unpinned_run_and_saves_a_pinned_gx(tmp_path: Path) -> None:
    from recanon_sdk.models.weights import load_model

    first = train(_tiny(tmp_path, "steps=1", "loss.lambda_adv=0.0"), progress=False)
    pinned_cfg = _tiny(
        tmp_path,
        "steps=2",
        "loss.lambda_adv=0.0",
        "model.pin_blur=0.1",
        "model.min_diag=4",  # a stage may move the band up (the visible-body probe) and clear below it
        "model.pin_clear_diag=2",
        f"init_from={str(first.out_dir)!r}",
        f"out={str(tmp_path / 'pinned')!r}",
    )
    pinned = train(pinned_cfg, progress=False)
    gx, gx_meta = load_model(pinned.gx_path)
    gy, gy_meta = load_model(pinned.gy_path)
    assert gx.pin is not None and gx.pin.cfg.blur == 0.1 and gx.pin.cfg.cell == 8
    assert gx.pin.cfg.clear_diag == 2 and gx.scrambler.cfg.min_diag == gy.scrambler.cfg.min_diag == 4
    assert "pin" not in gy_meta["kwargs"] and "pin" in gx_meta["kwargs"]
    start, _ = load_model(first.gx_path)
    pairs = zip(gx.state_dict().values(), start.state_dict().values(), strict=True)
    assert any(not torch.equal(p, q) for p, q in pairs)


def test_init_only_gx_starts_a_new_gy_architecture_on_a_given_gx(tmp_path: Path) -> None:
    from recanon_sdk.models.weights import load_model

    first = train(_tiny(tmp_path, "steps=1", "loss.lambda_adv=0.0"), progress=False)
    start = f"init_from={str(first.out_dir)!r}"
    with pytest.raises(ValueError, match="gy_unet_s, not gy"):  # both loaded: GY's arch differs
        Trainer(_tiny(tmp_path / "b", "loss.lambda_adv=0.0", "model.gy='gy_unet_m'", start))
    with pytest.raises(ValueError, match="init_only"):
        Trainer(_tiny(tmp_path / "c", "loss.lambda_adv=0.0", "init_only=['gz']", start))
    cfg = _tiny(
        tmp_path / "d",
        "steps=1",
        "loss.lambda_adv=0.0",
        "model.gy='gy_unet_m'",
        "init_only=['gx']",
        "optim.train_gx=false",
        start,
    )
    result = train(cfg, progress=False)
    gx, _ = load_model(result.gx_path)
    given, _ = load_model(first.gx_path)
    assert all(
        torch.equal(p, q) for p, q in zip(gx.state_dict().values(), given.state_dict().values(), strict=True)
    )
    assert load_model(result.gy_path)[1]["arch"] == "gy_unet_m"


def test_resume_replays_the_same_data_and_reaches_the_same_weights(tmp_path: Path) -> None:
    cfg = _tiny(tmp_path, "steps=2", "loss.lambda_adv=0.0", "codec.kind='none'")
    straight = Trainer(apply_overrides(cfg, [f"out={str(tmp_path / 'a')!r}"]))
    straight.run(progress=False)
    half = Trainer(apply_overrides(cfg, ["steps=1", f"out={str(tmp_path / 'b')!r}"]))
    half.run(progress=False)
    resumed = train(apply_overrides(cfg, [f"out={str(tmp_path / 'b')!r}"]), resume=True, progress=False)
    assert resumed.step == 2
    b = Trainer(apply_overrides(cfg, [f"out={str(tmp_path / 'b')!r}"]))
    b.resume(tmp_path / "b" / "checkpoint.safetensors")
    for (name, p), q in zip(straight.gx.state_dict().items(), b.gx.state_dict().values(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name


def test_time_limit_stops_early_and_still_saves(tmp_path: Path) -> None:
    cfg = _tiny(tmp_path, "steps=1000", "time_limit_min=1e-9", "loss.lambda_adv=0.0")
    result = train(cfg, progress=False)
    assert 0 <= result.step < 1000
    assert result.gx_path is not None and result.gx_path.is_file()


def test_metrics_csv_widens_when_a_resumed_stage_logs_new_columns(tmp_path: Path) -> None:
    from recanon_sdk.training.run_logs import CsvLog

    log = CsvLog(tmp_path / "m.csv")
    log.write(1, {"loss_l1": 0.5})
    log.close()
    log = CsvLog(tmp_path / "m.csv")
    log.write(2, {"loss_l1": 0.4, "loss_pe": 7.0})
    log.close()
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert rows == [
        {"step": "1", "loss_l1": "0.5", "loss_pe": ""},
        {"step": "2", "loss_l1": "0.4", "loss_pe": "7.0"},
    ]


def test_batches_are_deterministic_per_step(tmp_path: Path) -> None:
    t = Trainer(_tiny(tmp_path))
    assert torch.equal(t.batch(3)["image"], t.batch(3)["image"])
    assert not torch.equal(t.batch(3)["image"], t.batch(4)["image"])
    assert set(t.train_idx).isdisjoint(t.holdout_idx)


@pytest.mark.shared
def test_tiny_training_with_pose_loss_on_real_crops(tmp_path: Path) -> None:
    cfg = _tiny(
        tmp_path,
        "steps=1",
        "batch_size=2",
        "loss.lambda_pe=0.1",
        "loss.lambda_adv=0.0",
        f"data.sources=[{{kind='folder', path={str(INRIA)!r}, limit=6}}]",
        "data.size=[128, 64]",
    )
    result = train(cfg, progress=False)
    assert math.isfinite(result.metrics["loss_pe"]) and result.metrics["loss_pe"] > 0
    assert result.metrics["pose_targets"] > 0  # the frozen teacher labelled the unlabelled crops


@pytest.mark.shared
def test_a_head_pinned_gx_trains_with_head_masks_from_the_teacher_and_saves_head_pinned(
    tmp_path: Path,
) -> None:
    from recanon_sdk.models.weights import load_model

    real = [f"data.sources=[{{kind='folder', path={str(INRIA)!r}, limit=6}}]", "data.size=[128, 64]"]
    pinned = ["model.pin_blur=0.1", "model.pin_head=true", "loss.lambda_adv=0.0"]
    result = train(
        _tiny(tmp_path, "steps=1", "batch_size=4", "loss.lambda_pe=0.1", *pinned, *real), progress=False
    )
    # INRIA's upright people: the teacher finds their faces, so only the head blocks are pinned
    assert 0.02 < result.metrics["pinned_fraction"] < 0.5
    gx, meta = load_model(result.gx_path)
    assert gx.pins_heads and meta["kwargs"]["pin"]["head"] is True
    trainer = Trainer(_tiny(tmp_path / "b", "loss.lambda_pe=0.1", *pinned, *real))
    blank = torch.zeros(2, 3, 128, 64)  # no person: no face, so the whole portrait is pinned
    assert float(trainer.head_masks(blank).mean()) == 1.0
    with pytest.raises(ValueError, match="lambda_pe"):
        Trainer(_tiny(tmp_path / "c", *pinned, *real))
    with pytest.raises(ValueError, match="pin_blur"):
        Trainer(_tiny(tmp_path / "d", "model.pin_head=true", "loss.lambda_pe=0.1", *real))
    # each head at its own size, and a share pinned whole anyway (as deployed close-ups are)
    scaled = Trainer(
        _tiny(
            tmp_path / "e",
            "loss.lambda_pe=0.1",
            "model.pin_head_scale=0.1",
            "model.pin_cell=0",
            "model.pin_whole_p=0.5",
            *pinned,
            *real,
        )
    )
    x = scaled.batch(0)["image"]
    people = scaled.pose.teacher_people(x)
    never = Trainer(_tiny(tmp_path / "f", "loss.lambda_pe=0.1", "model.pin_head_scale=0.1", *pinned, *real))
    heads_only = never.head_masks(x, people).numpy()
    whole = scaled.gx.pin.cfg.whole_sigma(128, 64)
    known = [i for i, m in enumerate(heads_only) if (m == 0).any()]  # p = 0: a head, the rest free
    assert known and all(0 < m.max() < whole for m in heads_only[known])  # each head at its own σ
    draws = [scaled.head_masks(x, people, torch.Generator().manual_seed(seed)).numpy() for seed in range(8)]
    pinned_whole = [np.allclose(d[i], whole) for d in draws for i in known]
    assert any(pinned_whole) and not all(pinned_whole)  # p = 0.5: known heads pinned whole at times
    with pytest.raises(ValueError, match="pin_whole_p"):
        Trainer(_tiny(tmp_path / "g", "model.pin_whole_p=0.5", "loss.lambda_pe=0.1", *real))


@pytest.mark.shared
def test_fine_tuning_p_alone_keeps_the_generators_and_writes_a_loadable_p(tmp_path: Path) -> None:
    from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
    from safetensors.numpy import load_file

    real = [f"data.sources=[{{kind='folder', path={str(INRIA)!r}, limit=6}}]", "data.size=[128, 64]"]
    first = train(_tiny(tmp_path / "a", "steps=1", "batch_size=2", *real), progress=False)
    cfg = _tiny(
        tmp_path / "b",
        "steps=2",
        "batch_size=2",
        "loss.lambda_pe=0.1",
        "loss.pose.finetune=true",
        "optim.train_generators=false",
        "optim.lr_pose=1e-3",
        f"init_from={str(first.gx_path.parent)!r}",
        *real,
    )
    result = train(cfg, progress=False)
    before, after = load_file(first.gx_path), load_file(result.gx_path)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # GX frozen, loaded from init_from
    pose = result.gx_path.parent / "pose.pt"
    assert pose.is_file()
    from recanon_sdk.models.pose_loss import load_pose_model

    changed = [
        not torch.equal(a.half(), b.half())
        for a, b in zip(load_pose_model(pose).parameters(), load_pose_model().parameters(), strict=True)
    ]
    assert any(changed)  # P was fine-tuned
    image = np.random.default_rng(0).integers(0, 256, (256, 128, 3), np.uint8)
    assert len(PoseDetector(DetectorConfig(weights=str(pose), imgsz=320)).detect([image])) == 1
    with pytest.raises(ValueError, match="nothing to train"):
        Trainer(_tiny(tmp_path / "c", "optim.train_generators=false", *real))


@pytest.mark.shared
def test_pose_on_raw_adds_p_s_loss_on_the_raw_portraits_and_needs_a_fine_tuned_p(tmp_path: Path) -> None:
    real = [f"data.sources=[{{kind='folder', path={str(INRIA)!r}, limit=6}}]", "data.size=[128, 64]"]
    tuned = ["loss.lambda_pe=0.1", "loss.pose.finetune=true", "loss.lambda_adv=0.0", "batch_size=2", *real]
    plain = Trainer(_tiny(tmp_path / "a", *tuned)).train_step(0)
    anchored = Trainer(_tiny(tmp_path / "b", "loss.pose_on_raw=0.5", *tuned)).train_step(0)
    assert "loss_pe_raw" not in plain and anchored["loss_pe_raw"] > 0
    # same seed, step and start: L_PE on GX's output is the same, plus half of P's loss on the raw
    assert anchored["loss_pe"] == pytest.approx(plain["loss_pe"] + 0.5 * anchored["loss_pe_raw"], rel=1e-4)
    with pytest.raises(ValueError, match="pose_on_raw"):
        Trainer(_tiny(tmp_path / "c", "loss.pose_on_raw=0.5", "loss.lambda_pe=0.1", *real))


def test_gy_alone_on_real_x264_keeps_gx_and_learns_to_give_back_its_input_under_a_wrong_key(
    tmp_path: Path,
) -> None:
    from safetensors.numpy import load_file

    first = train(_tiny(tmp_path / "a", "steps=1", "loss.lambda_adv=0.0"), progress=False)
    cfg = _tiny(
        tmp_path / "b",
        "steps=3",
        "loss.lambda_adv=0.0",
        "loss.lambda_wrong_key=1.0",
        "optim.train_gx=false",
        "codec.kind='x264'",
        "codec.crf=[23, 23]",
        f"init_from={str(first.gx_path.parent)!r}",
    )
    trainer = Trainer(cfg)
    assert all(not p.requires_grad for p in trainer.gx.parameters())
    gy_before = [p.detach().clone() for p in trainer.gy.parameters()]
    result = trainer.run(progress=False)
    before, after = load_file(first.gx_path), load_file(result.gx_path)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # GX frozen
    assert any(not torch.equal(a, b) for a, b in zip(gy_before, trainer.gy.parameters(), strict=True))
    rows = list(csv.DictReader((result.out_dir / "metrics.csv").open()))
    assert all(math.isfinite(float(r["loss_wrong_key"])) for r in rows)
    assert all(math.isfinite(float(r["psnr_gx_codec_raw"])) for r in rows)
    with pytest.raises(ValueError, match="keyed"):
        train(
            _tiny(tmp_path / "c", "model.keyed=false", "loss.lambda_wrong_key=1.0", "steps=1"), progress=False
        )


def test_wrong_key_loss_teaches_gy_to_give_back_its_input(tmp_path: Path) -> None:
    """GY starts as the identity; recovery training moves it away from its input under every key.
    With the wrong-key loss, GY under a wrong key stays much closer to giving back its input."""

    def distance_to_input_under_a_wrong_key(lambda_wrong: float) -> float:
        cfg = _tiny(
            tmp_path / str(lambda_wrong),
            "steps=25",
            "loss.lambda_adv=0.0",
            f"loss.lambda_wrong_key={lambda_wrong}",
            "optim.train_gx=false",
            "optim.lr=3e-3",
            "codec.kind='none'",
        )
        trainer = Trainer(cfg)
        trainer.run(progress=False)
        x = trainer.batch(1000)["image"]
        gen = torch.Generator().manual_seed(5)
        key, wrong = (trainer.gx.random_key(len(x), *x.shape[-2:], gen) for _ in range(2))
        with torch.no_grad():
            y = trainer.gx.eval()(x, key)
            given = trainer.gy.scrambler.unscramble(y, wrong).clamp(0, 1)
            return float((trainer.gy.eval()(y, wrong) - given).abs().mean())

    plain, taught = distance_to_input_under_a_wrong_key(0.0), distance_to_input_under_a_wrong_key(1.0)
    assert taught < 0.6 * plain, (taught, plain)


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(train_command)

    @app.command()
    def other() -> None:  # a second command so Typer keeps "train" as a subcommand
        """Placeholder."""

    return app


def test_cli_trains_the_tiny_config(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "cli_run"
    args = [
        "train",
        str(TINY),
        "--steps",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--set",
        "data.size=[64, 32]",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "trained to step 2" in res.output
    assert (out / "gx.safetensors").is_file() and (out / "checkpoint.safetensors").is_file()
    res = CliRunner().invoke(cli, [*args[:3], "3", *args[4:], "--resume"])
    assert res.exit_code == 0, res.output
    assert "trained to step 3" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "no/such/config.toml"], "does not exist"),
        (["train", str(TINY), "--set", "loss.lambda_magic=1"], "unknown setting"),
        (["train", str(TINY), "--steps", "0"], "--steps must be at least 1"),
        (["train", str(TINY), "--data", "no/such/folder"], "does not exist"),
        (["train", str(TINY), "--resume", "--out", "/nonexistent/run"], "nothing to resume"),
    ],
)
def test_cli_bad_input_is_one_sentence_without_traceback(
    cli: typer.Typer, args: list[str], message: str
) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1
    assert "recanon: error:" in res.output and message in res.output
    assert "Traceback" not in res.output


def test_evaluation_helpers_on_an_untrained_pair(tmp_path: Path) -> None:
    from recanon_sdk.evaluation.metrics import oks
    from recanon_sdk.models import save_model
    from recanon_sdk.models.codec import x264_roundtrip
    from recanon_sdk.training.heldout import measure_pair

    gx = save_model(tmp_path / "gx.safetensors", create_model("gx_unet_s"), "gx_unet_s", input_size=(64, 32))
    gy = save_model(tmp_path / "gy.safetensors", create_model("gy_unet_s"), "gy_unet_s", input_size=(64, 32))
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (64, 32, 3), dtype=np.uint8) for _ in range(3)]
    res = measure_pair(gx, gy, crops, bytes(32), bytes(range(32)), "jpeg", 90)
    assert res["psnr_raw_after_codec"] > res["psnr_blur"]  # noise crops: JPEG q90 beats a σ=5 blur
    assert all(math.isfinite(v) for v in res.values())
    decoded = x264_roundtrip(crops, crf=18)
    assert len(decoded) == 3 and decoded[0].shape == (64, 32, 3)
    kp = np.zeros((17, 3))
    kp[:, 2] = 2
    assert oks(kp, kp, 100.0, np.full(17, 0.05)) == 1.0
    shifted = kp.copy()
    shifted[:, 0] += 5
    assert 0 < oks(kp, shifted, 100.0, np.full(17, 0.05)) < 1


def test_head_masks_without_the_pose_teacher_raise_a_clear_error(tmp_path: Path) -> None:
    trainer = Trainer(_tiny(tmp_path))  # loss.lambda_pe = 0: no pose teacher
    assert trainer.pose is None
    with pytest.raises(RuntimeError, match="pose teacher"):
        trainer.head_masks(torch.rand(1, 3, 64, 32))
