"""The joint training loop of GX, GY, (DX, DY) and (P).

One step on a batch of raw portraits ``x`` with fresh random deployment keys ``k``::

    d  = D(x)                      conventional desensitization (blur σ=5 by default)
    y  = GX(x; k)                  privacy-enhanced portrait (keyed band scrambling inside)
    ỹ  = C(y)                      codec stand-in (JPEG-like quantisation, resizing, noise)
    x̂  = GY(ỹ; k)                  recovery with the right key

    L_enhance  = λ_xy · L_XY(y, d)  + λ_adv · L_G(DY(x, y))
    L_recovery = λ_l1 · ‖x̂ − x‖₁ + λ_ssim · (1 − SSIM(x̂, x)) + λ_adv · L_G(DX(ỹ, x̂))
    L_wrong    = λ_wrong · ‖GY(ỹ; k') − S_k'⁻¹(ỹ)‖₁     k' another random key: GY gives back its input
    L          = L_enhance + L_recovery + λ3 · (L_PE(P(ỹ)) + L_PE(P(x̂))) + L_wrong

The pose targets are ground truth where the portrait has it, else the frozen P₀'s pseudo-labels on
``x``. The discriminators then take one least-squares step on (x, d) vs (x, y) and (ỹ, x) vs
(ỹ, x̂). Adam, exponential learning-rate decay per step. Logged every ``log_every`` steps to
``metrics.csv`` (and TensorBoard when installed and enabled), including ``psnr_rec_wrong_key``:
GY with a different random key, to compare with ``psnr_gx_codec_raw`` (GX's output after the codec).

``optim.train_gx = false`` freezes GX (it runs without gradients) so that a stage can train GY
alone, for instance on GX's output after the real libx264 (``codec.kind = "x264"``), which GX
could only see through a straight-through gradient.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from recanon_sdk.models.codec import CodecStandIn
from recanon_sdk.models.keyed import straight_through_clamp
from recanon_sdk.models.losses import (
    desensitization_loss,
    desensitize,
    lsgan_d_loss,
    lsgan_g_loss,
    psnr,
    ssim,
)
from recanon_sdk.models.registry import create_model
from recanon_sdk.models.weights import save_model
from recanon_sdk.training.checkpoint import load_checkpoint, save_checkpoint
from recanon_sdk.training.config import TrainConfig, config_to_dict
from recanon_sdk.training.data import PersonCrops, build_split_records
from recanon_sdk.training.run_logs import CsvLog, ProgressLine, tensorboard_writer

if TYPE_CHECKING:
    from recanon_sdk.models.pose_loss import YoloPoseLoss

__all__ = ["TrainResult", "Trainer", "collate", "train"]

CHECKPOINT_NAME = "checkpoint.safetensors"


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    gx_path: Path | None = None
    gy_path: Path | None = None


def collate(samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


def _resolve_device(name: str) -> torch.device:
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available")
    return dev


class Trainer:
    """Builds models, data and optimisers from a :class:`TrainConfig`; :meth:`run` trains."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        torch.set_num_threads(max(1, cfg.threads))
        torch.manual_seed(cfg.seed)
        self.device = _resolve_device(cfg.device)
        self.out = Path(cfg.out)
        size = (int(cfg.data.size[0]), int(cfg.data.size[1]))
        self.size = size
        records, self.train_idx, self.holdout_idx = build_split_records(cfg.data.sources, cfg.data.holdout)
        self.dataset = PersonCrops(records, size, cfg.data.margin, cfg.data.augment, cfg.seed)
        self.eval_dataset = PersonCrops(records, size, cfg.data.margin, False, cfg.seed)

        m = cfg.model
        self.model_kwargs: dict[str, Any] = {"keyed": m.keyed, "code_dim": m.code_dim}
        if m.keyed:
            self.model_kwargs["scrambler"] = {"min_diag": m.min_diag, "max_diag": m.max_diag}
        self.gx_kwargs = dict(self.model_kwargs)
        if m.pin_blur > 0:
            self.gx_kwargs["pin"] = {"blur": m.pin_blur, "cell": m.pin_cell, "top": m.pin_top}
            if m.pin_head:
                self.gx_kwargs["pin"]["head"] = True
            if m.pin_head_scale:
                self.gx_kwargs["pin"]["head_scale"] = m.pin_head_scale
            if m.pin_clear_diag:
                self.gx_kwargs["pin"]["clear_diag"] = m.pin_clear_diag
        elif m.pin_head or m.pin_clear_diag:
            raise ValueError(
                "model.pin_head and model.pin_clear_diag shape the pinned output, so need model.pin_blur > 0"
            )
        self.gx = create_model(m.gx, **self.gx_kwargs).to(self.device)
        self.gy = create_model(m.gy, **self.model_kwargs).to(self.device)
        self.models: dict[str, nn.Module] = {"gx": self.gx, "gy": self.gy}
        lw = cfg.loss
        self.dx = self.dy = None
        if lw.lambda_adv > 0:
            self.dx = create_model(m.discriminator).to(self.device)
            self.dy = create_model(m.discriminator).to(self.device)
            self.models.update(dx=self.dx, dy=self.dy)
        self.pose = None
        if lw.lambda_pe > 0:
            from recanon_sdk.models.pose_loss import YoloPoseLoss

            self.pose = YoloPoseLoss(lw.pose).to(self.device)
            if lw.pose.finetune:
                self.models["pose"] = self.pose.student
        if m.pin_head and self.pose is None:
            raise ValueError("model.pin_head finds heads with the pose teacher: it needs loss.lambda_pe > 0")
        if not 0 <= m.pin_whole_p <= 1 or (m.pin_whole_p and not m.pin_head):
            raise ValueError("model.pin_whole_p is a share (0–1) of portraits of a head-pinned GX (pin_head)")
        self.codec = CodecStandIn(cfg.codec)
        if lw.pose_on_raw and not (lw.lambda_pe > 0 and lw.pose.finetune):
            raise ValueError("loss.pose_on_raw trains P on raw portraits: needs lambda_pe and pose.finetune")
        if lw.lambda_wrong_key > 0 and not m.keyed:
            raise ValueError("loss.lambda_wrong_key needs keyed models (model.keyed = true)")

        if cfg.init_from:
            self._init_generators(Path(cfg.init_from))
        o = cfg.optim
        groups: list[dict[str, Any]] = []
        if not o.train_gx:
            self.gx.requires_grad_(False)
        if o.train_generators:
            trained = [p for g in (self.gx, self.gy) for p in g.parameters() if p.requires_grad]
            groups.append({"params": trained, "lr": o.lr})
        else:
            self.gx.requires_grad_(False)
            self.gy.requires_grad_(False)
        if self.pose is not None and self.pose.trainable_parameters():
            groups.append({"params": self.pose.trainable_parameters(), "lr": o.lr_pose})
        if not groups:
            raise ValueError("nothing to train: optim.train_generators is false and P is not fine-tuned")
        self.opt_g = torch.optim.Adam(groups, betas=o.betas)
        self.optimizers: dict[str, torch.optim.Optimizer] = {"g": self.opt_g}
        self.schedulers: dict[str, Any] = {
            "g": torch.optim.lr_scheduler.ExponentialLR(self.opt_g, o.lr_gamma)
        }
        self.opt_d = None
        if self.dx is not None and self.dy is not None:
            self.opt_d = torch.optim.Adam(
                [*self.dx.parameters(), *self.dy.parameters()], lr=o.lr_disc, betas=o.betas
            )
            self.optimizers["d"] = self.opt_d
            self.schedulers["d"] = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, o.lr_gamma)
        self.step = 0

    def _init_generators(self, run: Path) -> None:
        """Load GX and GY weights from another run's ``gx.safetensors`` / ``gy.safetensors`` (those
        named in ``init_only``; e.g. ``["gx"]`` to train a new GY architecture on a given GX)."""
        from recanon_sdk.models.weights import load_model

        unknown = set(self.cfg.init_only) - {"gx", "gy"}
        if unknown or not self.cfg.init_only:
            raise ValueError(
                f"init_only names the generators to load, gx and/or gy; got {self.cfg.init_only}"
            )
        for name, model in (("gx", self.gx), ("gy", self.gy)):
            if name not in self.cfg.init_only:
                continue
            source, meta = load_model(run / f"{name}.safetensors")
            if meta["arch"] != getattr(self.cfg.model, name):
                raise ValueError(
                    f"init_from: {run / name}.safetensors is {meta['arch']}, not {name} of this run"
                )
            model.load_state_dict(source.state_dict())

    # --- data -------------------------------------------------------------------------------------

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """The batch of ``step`` (deterministic in seed and step, so resuming replays the same data)."""
        rng = np.random.default_rng([self.cfg.seed, step])
        idx = rng.choice(
            self.train_idx, size=self.cfg.batch_size, replace=len(self.train_idx) < self.cfg.batch_size
        )
        batch = collate([self.dataset.get(int(i), rng) for i in idx])
        return {k: v.to(self.device) for k, v in batch.items()}

    def _teacher(self) -> YoloPoseLoss:
        """The frozen pose teacher, which finds the heads a head-pinned GX pins."""
        if self.pose is None:  # __init__ refuses model.pin_head without loss.lambda_pe > 0
            raise RuntimeError(
                "head masks need the pose teacher, and this trainer has none (loss.lambda_pe = 0)"
            )
        return self.pose

    def head_masks(
        self,
        x: torch.Tensor,
        people: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Where a head-pinned GX pins, from the frozen teacher's face keypoints on the raw portraits
        (as the deployed detector gives them), failing closed (all pinned) where it sees no face.
        ``people``: the teacher's output for ``x`` when already computed. With ``model.pin_whole_p``
        that share of the portraits (drawn with ``generator``) is pinned whole anyway, as deployed
        video pins close-ups and people seen from the waist up, so GY learns to recover those too."""
        from recanon_sdk.geometry import head_boxes

        pose = self._teacher()
        boxes, keypoints, score = people if people is not None else pose.teacher_people(x)
        keypoints = keypoints.clone()
        keypoints[score < pose.cfg.min_score, :, 2] = 0  # no person found: no head known
        heads = head_boxes(keypoints.cpu().numpy(), boxes.cpu().numpy())
        unknown = np.isnan(heads).any(axis=1)
        if self.cfg.model.pin_whole_p:  # drawn only when asked: other runs keep their random stream
            unknown |= (torch.rand(len(heads), generator=generator) < self.cfg.model.pin_whole_p).numpy()
        per_crop = [None if u else h[None] for h, u in zip(heads, unknown, strict=True)]
        size = (x.shape[-2], x.shape[-1])
        return torch.from_numpy(self.gx.pin.masks(per_crop, [size] * len(heads), size)).to(x.device)

    # --- one step ---------------------------------------------------------------------------------

    def train_step(self, step: int) -> dict[str, float]:
        cfg, lw = self.cfg, self.cfg.loss
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        b = self.batch(step)
        x = b["image"]
        n, _, h, w = x.shape
        self.gx.train(cfg.optim.train_gx)
        self.gy.train()
        key = self.gx.random_key(n, h, w, gen)
        key = key.to(self.device) if key is not None else None
        d = desensitize(x, lw.desensitize, lw.blur_sigma, lw.pixel_block, lw.noise_sigma, gen)  # type: ignore[arg-type]

        teacher = None  # the frozen teacher's people on x, computed once for head masks and pseudo-labels
        pin_mask = None
        if self.gx.pins_heads:
            teacher = self._teacher().teacher_people(x)
            pin_mask = self.head_masks(x, teacher, gen)
        with torch.set_grad_enabled(cfg.optim.train_gx):
            y = self.gx(x, key, pin_mask)
        y_c = self.codec(y, generator=gen)
        x_hat = self.gy(y_c, key)
        wrong = self.gx.random_key(n, h, w, gen) if key is not None else None
        wrong = wrong.to(self.device) if wrong is not None else None

        l_xy = desensitization_loss(y, d, lw.xy_delta, lw.xy_tolerance)
        l_l1 = (x_hat - x).abs().mean()
        l_ssim = 1 - ssim(x_hat, x)
        total = lw.lambda_xy * l_xy + lw.lambda_l1 * l_l1 + lw.lambda_ssim * l_ssim
        logs: dict[str, float] = {}
        if pin_mask is not None:
            logs["pinned_fraction"] = float((pin_mask > 0).float().mean())
        x_wrong = None  # GY under the wrong key, computed once for the loss and reused for the log
        if lw.lambda_wrong_key > 0:
            if wrong is None or self.gy.scrambler is None:  # __init__ refuses the wrong-key loss unkeyed
                raise RuntimeError(
                    "loss.lambda_wrong_key > 0 with an unkeyed GX/GY: no wrong key to train on"
                )
            given_back = straight_through_clamp(self.gy.scrambler.unscramble(y_c, wrong)).detach()
            x_wrong = self.gy(y_c, wrong)
            l_wrong = (x_wrong - given_back).abs().mean()
            total = total + lw.lambda_wrong_key * l_wrong
            logs["loss_wrong_key"] = float(l_wrong.detach())
        if self.dx is not None and self.dy is not None:
            l_adv = lsgan_g_loss(self.dy(x, y)) + lsgan_g_loss(self.dx(y_c, x_hat))
            total = total + lw.lambda_adv * l_adv
            logs["loss_adv_g"] = float(l_adv.detach())
        if self.pose is not None and step % max(1, lw.pose_every) == 0:
            from recanon_sdk.models.pose_loss import PoseTargets

            gt = PoseTargets.from_pixels(b["box"], b["keypoints"], b["has_keypoints"], (h, w))
            targets = gt
            if not bool(b["has_keypoints"].all()):
                targets = gt.merge(self.pose.pseudo_labels(x, teacher), ~b["has_keypoints"])
            l_pe = self.pose(y_c, targets)
            if lw.pose_on_recovered:
                l_pe = l_pe + self.pose(x_hat, targets)
            if lw.pose_on_raw > 0:  # anchors a fine-tuned P on the raw look it started from
                l_raw = self.pose(x, targets)
                l_pe = l_pe + lw.pose_on_raw * l_raw
                logs["loss_pe_raw"] = float(l_raw.detach())
            total = total + lw.lambda_pe * l_pe
            logs["loss_pe"] = float(l_pe.detach())
            logs["pose_targets"] = float(targets.valid.float().mean())

        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        if cfg.optim.grad_clip > 0:
            params = [p for g in self.opt_g.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        self.opt_g.step()

        if self.opt_d is not None and self.dx is not None and self.dy is not None:
            y_d, yc_d, xh_d = y.detach(), y_c.detach(), x_hat.detach()
            l_d = lsgan_d_loss(self.dy(x, d), self.dy(x, y_d)) + lsgan_d_loss(
                self.dx(yc_d, x), self.dx(yc_d, xh_d)
            )
            self.opt_d.zero_grad(set_to_none=True)
            l_d.backward()
            self.opt_d.step()
            logs["loss_d"] = float(l_d.detach())
        for s in self.schedulers.values():
            s.step()

        with torch.no_grad():
            logs.update(
                loss_total=float(total.detach()),
                loss_xy=float(l_xy),
                loss_l1=float(l_l1),
                loss_ssim=float(l_ssim),
                psnr_gx_raw=float(psnr(y, x)),
                psnr_gx_target=float(psnr(y, d)),
                psnr_rec=float(psnr(x_hat, x)),
                lr=float(self.opt_g.param_groups[0]["lr"]),
            )
            if wrong is not None:
                x_wrong = self.gy(y_c, wrong) if x_wrong is None else x_wrong.detach()
                logs["psnr_rec_wrong_key"] = float(psnr(x_wrong, x))
                logs["psnr_gx_codec_raw"] = float(psnr(y_c, x))
        return logs

    # --- persistence ------------------------------------------------------------------------------

    def save(self) -> tuple[Path, Path]:
        save_checkpoint(
            self.out / CHECKPOINT_NAME,
            self.step,
            self.models,
            self.optimizers,
            self.schedulers,
            config_to_dict(self.cfg),
        )
        extra = {
            "step": self.step,
            "desensitize": self.cfg.loss.desensitize,
            "blur_sigma": self.cfg.loss.blur_sigma,
        }
        gx_path = save_model(
            self.out / "gx.safetensors", self.gx, self.cfg.model.gx, self.gx_kwargs, self.size, extra
        )
        gy_path = save_model(
            self.out / "gy.safetensors", self.gy, self.cfg.model.gy, self.model_kwargs, self.size, extra
        )
        if self.pose is not None and self.cfg.loss.pose.finetune:
            from recanon_sdk.models.pose_loss import save_pose_model

            save_pose_model(self.pose.student, self.out / "pose.pt")
        return gx_path, gy_path

    def resume(self, path: str | Path) -> int:
        self.step = load_checkpoint(path, self.models, self.optimizers, self.schedulers)
        return self.step

    # --- the loop ---------------------------------------------------------------------------------

    def run(
        self, progress: bool = True, on_log: Callable[[int, dict[str, float]], None] | None = None
    ) -> TrainResult:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.json").write_text(
            __import__("json").dumps(config_to_dict(cfg), indent=2), encoding="utf-8"
        )
        csv_path = self.out / "metrics.csv"
        writer = CsvLog(csv_path)
        tb = tensorboard_writer(self.out) if cfg.tensorboard else None
        bar = ProgressLine(cfg.steps, self.step, enabled=progress)
        logs: dict[str, float] = {}
        gx_path = gy_path = None
        deadline = time.monotonic() + cfg.time_limit_min * 60 if cfg.time_limit_min > 0 else None
        try:
            while self.step < cfg.steps:
                if deadline is not None and time.monotonic() > deadline:
                    break
                t0 = time.perf_counter()
                logs = self.train_step(self.step)
                logs["sec_per_step"] = time.perf_counter() - t0
                self.step += 1
                last = self.step == cfg.steps or (deadline is not None and time.monotonic() > deadline)
                if self.step % max(1, cfg.log_every) == 0 or last:
                    writer.write(self.step, logs)
                    if tb is not None:
                        for k, v in logs.items():
                            tb.add_scalar(k, v, self.step)
                    if on_log is not None:
                        on_log(self.step, logs)
                if self.step % max(1, cfg.ckpt_every) == 0 and self.step < cfg.steps:
                    self.save()
                bar.update(self.step, logs)
            gx_path, gy_path = self.save()
        finally:
            bar.close()
            writer.close()
            if tb is not None:
                tb.close()
        return TrainResult(self.out, self.step, logs, gx_path, gy_path)


def train(
    cfg: TrainConfig,
    resume: str | Path | bool | None = None,
    progress: bool = True,
    on_log: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train per ``cfg``.

    ``resume=True`` continues from ``<out>/checkpoint.safetensors``; a path resumes from that file.
    """
    trainer = Trainer(cfg)
    if resume:
        path = Path(cfg.out) / CHECKPOINT_NAME if resume is True else Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint to resume at {path}")
        trainer.resume(path)
    return trainer.run(progress=progress, on_log=on_log)


def replace_config(cfg: TrainConfig, **changes: Any) -> TrainConfig:
    return dataclasses.replace(cfg, **changes)
