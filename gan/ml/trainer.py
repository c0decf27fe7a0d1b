"""The training loop of every Table 4 row: D:G steps per iteration, checkpoints, exact resume, callbacks.

One iteration = ``d_steps`` discriminator updates, then ``g_steps`` generator updates, each on a fresh
class-balanced batch (the paper's 1:5). All randomness (batches, mismatched sounds, flips, z, the
gradient-penalty mix) comes from two seeded generators whose states go into every checkpoint, so a run
stopped at step N and resumed continues exactly as a straight run would.

Model selection: with ``validate_every`` set, a caller-supplied ``validator(G) -> score`` (higher is
better, e.g. class consistency on validation sounds) runs every that many iterations; each validation
point is a checkpoint, the best one is the run's result, and with ``patience`` the run stops once that
many validations in a row brought no improvement (it converged). A run that reaches its cap while still
improving says so ('completed' with ``improving_at_end``); a NaN or infinite loss raises TrainingDiverged.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import losses, model_selection, rng_state
from .architectures import build_networks
from .checkpoint import (CHECKPOINT_DIR, check_same_training, checkpoint_path, latest_checkpoint, load_checkpoint,
                         save_checkpoint)
from .paired_arrays import ClassBalancedSampler, PairedArrays, check_fits, fixed_sample_indices
from .device import resolve_device
from .diffaugment import diff_augment
from .ema import make_average, update_average, warmed_up_decay
from .generate import class_grid, to_uint8
from .media import write_png
from .variants import ModelConfig, TrainConfig, Variant, get_variant

# What the trainer logs every step (averaged over log_every steps into the history).
LOSS_NAMES = ("d_loss", "g_loss", "d_adv", "g_adv", "gp", "d_aux", "g_aux", "d_real", "d_fake")
SAMPLE_DIR = "samples"


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last checkpoint on disk is the last good state."""


def _resolve_flag(flag: str, device: torch.device) -> bool:
    return flag == "on" or (flag == "auto" and device.type == "cuda")


class Trainer:
    """Trains one variant on PairedArrays, checkpointing into run_dir.

    `callbacks` is any object with some of: on_progress(step, total, losses), should_stop() -> bool,
    on_checkpoint(path, step), on_samples(path, step); missing methods are skipped.
    """

    def __init__(self, model_cfg: ModelConfig, variant: Variant | str, train_cfg: TrainConfig,
                 data: PairedArrays, run_dir: str | os.PathLike, device: str | torch.device | None = None,
                 callbacks: Any = None, metadata: dict | None = None,
                 validator: Callable[[torch.nn.Module], float] | None = None):
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
        self.model_cfg, self.train_cfg, self.data = model_cfg, train_cfg, data
        self.run_dir = Path(run_dir)
        self.callbacks = callbacks
        self.metadata = dict(metadata or {})
        check_fits(data, model_cfg)
        self.device = resolve_device(device)
        self.use_amp = _resolve_flag(train_cfg.amp, self.device)
        self.channels_last = _resolve_flag(train_cfg.channels_last, self.device)
        self.total = train_cfg.total_iterations(len(data))

        # Build the weights from the run's seed without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train_cfg.seed)
            self.G, self.D = build_networks(model_cfg, self.variant)
        self.G.sound_norm.fit(data.features)   # both networks see z-scored sounds (see networks.py)
        self.D.sound_norm.fit(data.features)
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.G.to(self.device, memory_format=memory_format)
        self.D.to(self.device, memory_format=memory_format)
        # Row h: images come from a moving average of G's weights (ema.py); None = G itself.
        self.G_ema = make_average(self.G) if self.variant.ema_decay else None
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True   # fixed shapes: let cuDNN pick the fastest kernels
        betas = self.variant.adam_betas or train_cfg.betas     # a row may bring its own (row h)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=train_cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=train_cfg.d_lr or train_cfg.lr, betas=betas)
        self.sampler = ClassBalancedSampler(data.labels, train_cfg.seed)
        self.noise = torch.Generator().manual_seed(train_cfg.seed)   # CPU: identical draws on every device
        self.augment_noise = torch.Generator().manual_seed(train_cfg.seed + 15485863)   # DiffAugment's own stream
        self.step = 0
        self.elapsed_s = 0.0
        self.history: dict[str, list[float]] = {"step": [], **{k: [] for k in LOSS_NAMES}}
        self._window: dict[str, float] = {k: 0.0 for k in LOSS_NAMES}
        self._window_count = 0
        self._fixed_rows = fixed_sample_indices(data.labels, train_cfg.samples_per_class, train_cfg.seed)
        fixed_noise = torch.Generator().manual_seed(train_cfg.seed + 104729)
        self._fixed_z = torch.randn(len(self._fixed_rows), model_cfg.z_dim, generator=fixed_noise)
        self.validator = validator
        if train_cfg.validate_every and validator is None:
            raise ValueError("TrainConfig.validate_every is set but no validator was given")
        self.validation: dict[str, Any] = model_selection.new_record()   # what picks the run's result
        self.resumed_from: Path | None = None
        self._resume()

    # --- setup ------------------------------------------------------------------------------------
    def _resume(self) -> None:
        path = latest_checkpoint(self.run_dir)
        if path is None:
            return
        state = load_checkpoint(path, expect_variant=self.variant, expect_model=self.model_cfg)
        check_same_training(path, state, self.train_cfg, self.data.class_names)
        # With a weight average, "generator" holds the average (what every image uses) and
        # "generator_train" the weights being trained.
        self.G.load_state_dict(state.get("generator_train", state["generator"]))
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sampler.load_state_dict(state["sampler"])
        rng_state.restore(state["rng"], self.noise, self.augment_noise, self.device)
        self.history = {k: list(v) for k, v in state["history"].items()}
        self._window, self._window_count = dict(state["window"]["sums"]), state["window"]["count"]
        self.step, self.elapsed_s = state["step"], state["elapsed_s"]
        if state.get("validation"):
            self.validation = {**state["validation"], "history": [list(x) for x in state["validation"]["history"]]}
        self.resumed_from = path

    # --- one iteration --------------------------------------------------------------------------
    def _sounds(self, rows: np.ndarray) -> torch.Tensor:
        # np.asarray drops the np.memmap subclass: same memory, but fancy indexing 20x cheaper.
        features = np.asarray(self.data.features)
        return torch.from_numpy(np.ascontiguousarray(features[rows])).to(self.device, non_blocking=True)

    def _training_sounds(self, rows: np.ndarray) -> torch.Tensor:
        """Sounds as G and D see them in training: with the variant's Gaussian noise, in units of each
        dimension's spread (row h), so nearby sounds map to nearby images and a sound from an
        unfamiliar source lands among the training ones rather than off the learnt manifold."""
        sounds = self._sounds(rows)
        if self.variant.sound_noise:
            noise = torch.randn(sounds.shape, generator=self.noise).to(self.device, non_blocking=True)
            sounds = sounds + self.variant.sound_noise * self.G.sound_norm.scale * noise
        return sounds

    def _seen_by_d(self, images: torch.Tensor) -> torch.Tensor:
        """DiffAugment (row h) on every image D scores, real or fake, in D's step and in G's."""
        return diff_augment(images, self.variant.augment, self.augment_noise) if self.variant.augment else images

    @property
    def image_generator(self) -> torch.nn.Module:
        """The network every image comes from: the weight average when the variant keeps one."""
        return self.G_ema if self.G_ema is not None else self.G

    def _labels(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.data.labels[rows]).to(self.device, non_blocking=True)

    def _real_images(self, rows: np.ndarray) -> torch.Tensor:
        images = torch.from_numpy(np.ascontiguousarray(np.asarray(self.data.images)[rows]))
        if self.train_cfg.hflip:
            flips = torch.from_numpy(self.sampler.coin(len(rows)))
            images[flips] = images[flips].flip(-1)
        # uint8 travels to the device (4x less than float), is scaled to [-1, 1] there.
        x = images.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _z(self, n: int) -> torch.Tensor | None:
        if not self.model_cfg.z_dim:
            return None
        return torch.randn(n, self.model_cfg.z_dim, generator=self.noise).to(self.device, non_blocking=True)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp)

    def _d_step(self) -> dict[str, torch.Tensor]:
        v, b = self.variant, self.train_cfg.batch_size
        rows = self.sampler.sample(b)
        x, s, y = self._real_images(rows), self._training_sounds(rows), self._labels(rows)
        wrong_s = self._training_sounds(self.sampler.mismatched(self.data.labels[rows])) if v.use_mismatched else None
        z = self._z(b)
        with self._autocast():
            with torch.no_grad():
                fake = self.G(s, z)
            x_seen, fake_seen = self._seen_by_d(x), self._seen_by_d(fake)
            groups = ([(x_seen, s), (self._seen_by_d(x), wrong_s), (fake_seen, s)] if wrong_s is not None
                      else [(x_seen, s), (fake_seen, s)])
            if self.variant.d_norm == "batch":
                # BatchNorm: each group gets its own batch statistics, as G's steps will see fakes alone;
                # a mixed batch would let D score fakes in context and starve G of gradient.
                outputs = [self.D(images, sounds) for images, sounds in groups]
                chunks = [o[0].float() for o in outputs]
                logits = outputs[0][1]
            else:
                # No batch coupling: one pass over everything is cheaper (one power iteration per step).
                scores, logits = self.D(torch.cat([g[0] for g in groups]), torch.cat([g[1] for g in groups]))
                chunks = scores.float().split(b)
            real, fake_score = chunks[0], chunks[-1]
            wrong = chunks[1] if wrong_s is not None else None
            adv = losses.discriminator_adversarial_loss(v, real, fake_score, wrong)
            zero = adv.new_zeros(())
            gp = zero
            if v.loss == "wgan-gp":
                alpha = torch.rand(b, generator=self.noise).to(self.device)
                gp = losses.gradient_penalty(lambda im, so: self.D(im, so)[0], x, fake, s, alpha, v.gp_lambda)
            aux = losses.auxiliary_loss(logits[:b], y) if v.aux_classifier else zero
            loss = adv + gp + v.aux_weight * aux
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"d_loss": loss, "d_adv": adv, "gp": gp, "d_aux": aux,
                "d_real": real.mean(), "d_fake": fake_score.mean()}

    def _g_step(self) -> dict[str, torch.Tensor]:
        v, b = self.variant, self.train_cfg.batch_size
        rows = self.sampler.sample(b)          # a fresh batch for every G step; G needs no real images
        s, y = self._training_sounds(rows), self._labels(rows)
        z = self._z(b)
        with self._autocast():
            scores, logits = self.D(self._seen_by_d(self.G(s, z)), s)
            adv = losses.generator_adversarial_loss(v, scores)
            aux = losses.auxiliary_loss(logits, y) if v.aux_classifier else adv.new_zeros(())
            loss = adv + v.aux_weight * aux
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.G_ema is not None:
            updates = self.step * self.train_cfg.g_steps   # G updates so far (exact on resume)
            update_average(self.G_ema, self.G, warmed_up_decay(self.variant.ema_decay, updates))
        return {"g_loss": loss, "g_adv": adv, "g_aux": aux}

    def _iteration(self) -> dict[str, float]:
        d_parts = [self._d_step() for _ in range(self.train_cfg.d_steps)]
        self.D.requires_grad_(False)           # G steps need no D weight gradients
        try:
            g_parts = [self._g_step() for _ in range(self.train_cfg.g_steps)]
        finally:
            self.D.requires_grad_(True)
        means = {k: torch.stack([p[k].detach().float() for p in parts]).mean()
                 for parts in (d_parts, g_parts) for k in parts[0]}
        values = dict(zip(means, torch.stack(list(means.values())).tolist()))   # the one host sync per iteration
        for name in ("d_loss", "g_loss", "d_adv", "g_adv", "gp", "d_aux", "g_aux"):
            if not math.isfinite(values[name]):
                raise TrainingDiverged(f"training diverged at iteration {self.step + 1}: {name} = {values[name]} "
                                       f"(variant {self.variant.name}); the last checkpoint is the last good state. "
                                       "Try a lower learning rate or check the features for extreme values.")
        return values

    # --- bookkeeping ------------------------------------------------------------------------------
    def _record(self, values: dict[str, float]) -> None:
        for k in LOSS_NAMES:
            self._window[k] += values[k]
        self._window_count += 1
        if self.step % self.train_cfg.log_every == 0 or self.step == self.total:
            self.history["step"].append(self.step)
            for k in LOSS_NAMES:
                self.history[k].append(self._window[k] / self._window_count)
            self._window = {k: 0.0 for k in LOSS_NAMES}
            self._window_count = 0

    def save(self) -> Path:
        """Write the current state atomically to run_dir/checkpoints/step_XXXXXXXX.pt."""
        path = save_checkpoint(checkpoint_path(self.run_dir, self.step), {
            "step": self.step, "elapsed_s": self.elapsed_s,
            "variant": self.variant.to_dict(), "model_config": self.model_cfg.to_dict(),
            "train_config": self.train_cfg.to_dict(), "class_names": list(self.data.class_names),
            "metadata": self.metadata,
            "generator": self.image_generator.state_dict(), "discriminator": self.D.state_dict(),
            **({"generator_train": self.G.state_dict()} if self.G_ema is not None else {}),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "sampler": self.sampler.state_dict(), "rng": rng_state.capture(self.noise, self.augment_noise, self.device),
            "history": self.history, "window": {"sums": self._window, "count": self._window_count},
            "validation": self.validation})
        self._call("on_checkpoint", path, self.step)
        if self.train_cfg.keep_checkpoints == "best-and-last":
            self._prune(keep={self.step, self.validation["best_step"]})
        return path

    def _prune(self, keep: set) -> None:
        """Delete checkpoint files other than ``keep`` steps (the latest and the best one)."""
        folder = self.run_dir / CHECKPOINT_DIR
        for path in sorted(folder.glob("step_*.pt")):
            step = int(path.stem.split("_")[1])
            if step not in keep:
                path.unlink(missing_ok=True)
                self._call("on_checkpoint_removed", path, step)

    def _validate(self) -> bool:
        """Score G on the validator; True when this is a new best (an improvement beyond min_delta)."""
        score = float(self.validator(self.image_generator))
        if not math.isfinite(score):
            raise TrainingDiverged(f"validation score is {score} at iteration {self.step}")
        improved = model_selection.record_score(self.validation, self.step, score, self.train_cfg.min_delta)
        self._call("on_validation", self.step, score, improved)
        return improved

    def sample_images(self) -> np.ndarray:
        """Images (N, H, W, C) uint8 of the fixed sample sounds and noise, from G in eval mode."""
        generator = self.image_generator
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad(), self._autocast():
                s = self._sounds(self._fixed_rows)
                z = self._fixed_z.to(self.device) if self.model_cfg.z_dim else None
                return to_uint8(generator(s, z))
        finally:
            generator.train(was_training)

    def save_samples(self) -> Path:
        grid = class_grid(self.sample_images(), self.data.labels[self._fixed_rows], self.data.class_names,
                          self.train_cfg.samples_per_class)
        path = write_png(self.run_dir / SAMPLE_DIR / f"step_{self.step:08d}.png", grid)  # atomic, fenced
        self._call("on_samples", path, self.step)
        return path

    def _call(self, name: str, *args: Any) -> Any:
        method = getattr(self.callbacks, name, None)
        return method(*args) if method is not None else None

    # --- the loop ---------------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Run to ``total`` iterations (from the resumed step); returns a summary dict."""
        start_step = self.step
        session_start = mark = time.perf_counter()
        cfg, status, last_path, values = self.train_cfg, "completed", None, {}
        self.G.train()
        self.D.train()
        if model_selection.converged(self.validation, cfg.patience):
            status = "early-stopped"             # resumed after it had converged: nothing left to do
        while self.step < self.total and status == "completed":
            values = self._iteration()
            self.step += 1
            self._record(values)
            at_log = self.step % cfg.log_every == 0 or self.step == self.total
            if at_log:
                self._call("on_progress", self.step, self.total, values)
            stop = at_log and bool(self._call("should_stop"))
            if cfg.sample_every and self.step % cfg.sample_every == 0:
                self.save_samples()
            at_validation = bool(cfg.validate_every) and (self.step % cfg.validate_every == 0
                                                          or self.step == self.total)
            if at_validation:
                self._validate()
                if model_selection.converged(self.validation, cfg.patience) and not stop:
                    status, stop = "early-stopped", True
            if stop or at_validation or self.step % cfg.checkpoint_every == 0 or self.step == self.total:
                now = time.perf_counter()
                self.elapsed_s += now - mark      # training wall time, carried across resumes
                mark = now
                last_path = self.save()
            if stop:
                status = "cancelled" if status == "completed" else status
                break
        done = self.step - start_step
        if done and status != "cancelled" and (not cfg.sample_every or self.step % cfg.sample_every):
            self.save_samples()                 # the final grid, unless the schedule just wrote it
        if last_path is None:
            last_path = latest_checkpoint(self.run_dir)   # nothing left to train: report the last one
        images = done * cfg.batch_size * (cfg.d_steps + cfg.g_steps)
        session_s = max(time.perf_counter() - session_start, 1e-9)
        return {"status": status, "step": self.step, "total": self.total, "variant": self.variant.name,
                "iterations_this_session": done, "resumed_from": str(self.resumed_from) if self.resumed_from else None,
                "checkpoint": str(last_path) if last_path else None, "metrics": values,
                "elapsed_s": self.elapsed_s, "images_per_s": images / session_s if done else 0.0,
                "device": str(self.device), "amp": self.use_amp, "channels_last": self.channels_last,
                **self.validation_summary()}

    def validation_summary(self) -> dict[str, Any]:
        if not self.train_cfg.validate_every:
            return {}
        return model_selection.summary(self.validation, self.train_cfg.patience)
