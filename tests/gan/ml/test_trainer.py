import json

import numpy as np
import pytest
import torch

from gan.ml.checkpoint import CheckpointMismatch, latest_checkpoint, load_checkpoint
from gan.ml.trainer import Trainer, TrainingDiverged
from gan.ml.variants import VARIANTS, get_variant

from .toy_pairs import tiny_model, tiny_train, toy_pairs


class Recorder:
    def __init__(self, stop_at=None):
        self.progress, self.checkpoints, self.samples = [], [], []
        self.stop_at = stop_at

    def on_progress(self, step, total, metrics):
        self.progress.append((step, total, dict(metrics)))

    def should_stop(self):
        return self.stop_at is not None and self.progress and self.progress[-1][0] >= self.stop_at

    def on_checkpoint(self, path, step):
        self.checkpoints.append((path, step))

    def on_samples(self, path, step):
        self.samples.append((path, step))


def _state(trainer):
    return {**{f"G.{k}": v for k, v in trainer.G.state_dict().items()},
            **{f"D.{k}": v for k, v in trainer.D.state_dict().items()}}


@pytest.mark.parametrize("variant", ["g", "c", "b"])
def test_resume_continues_exactly(tmp_path, variant):
    data = toy_pairs()
    model = tiny_model()
    n, m = 4, 3
    # 5:1 G:D and flips on, as in the paper, so every random stream is exercised.
    straight = Trainer(model, variant, tiny_train(n + m, g_steps=5, hflip=True), data, tmp_path / "straight")
    straight.train()

    first = Trainer(model, variant, tiny_train(n, g_steps=5, hflip=True), data, tmp_path / "resumed")
    assert first.train()["step"] == n
    second = Trainer(model, variant, tiny_train(n + m, g_steps=5, hflip=True), data, tmp_path / "resumed")
    assert second.step == n and second.resumed_from is not None
    summary = second.train()
    assert summary["step"] == n + m and summary["iterations_this_session"] == m

    a, b = _state(straight), _state(second)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    assert straight.history == second.history
    for opt_a, opt_b in ((straight.opt_g, second.opt_g), (straight.opt_d, second.opt_d)):
        for sa, sb in zip(opt_a.state.values(), opt_b.state.values()):
            assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_trains_without_nan(tmp_path, name):
    data = toy_pairs(channels=3)
    recorder = Recorder()
    summary = Trainer(tiny_model(channels=3), name, tiny_train(6), data, tmp_path, callbacks=recorder).train()
    assert summary["status"] == "completed" and summary["step"] == 6
    assert all(np.isfinite(v) for v in summary["metrics"].values())
    assert [p[0] for p in recorder.progress] == [2, 4, 6]
    variant = get_variant(name)
    metrics = summary["metrics"]
    assert (metrics["gp"] > 0) == (variant.loss == "wgan-gp")
    assert (metrics["d_aux"] > 0) == variant.aux_classifier
    state = load_checkpoint(recorder.checkpoints[-1][0], expect_variant=variant)
    assert state["step"] == 6 and len(state["history"]["step"]) == 3


def test_cancel_saves_checkpoint_and_stops(tmp_path):
    recorder = Recorder(stop_at=4)
    summary = Trainer(tiny_model(), "g", tiny_train(50, checkpoint_every=100), toy_pairs(), tmp_path,
                      callbacks=recorder).train()
    assert summary["status"] == "cancelled" and summary["step"] == 4
    assert latest_checkpoint(tmp_path).name == "step_00000004.pt"
    assert recorder.checkpoints[-1][1] == 4
    # A later job picks up where the cancelled one stopped.
    again = Trainer(tiny_model(), "g", tiny_train(6, checkpoint_every=100), toy_pairs(), tmp_path)
    assert again.step == 4 and again.train()["step"] == 6


def test_nan_guard_names_loss_and_step(tmp_path):
    data = toy_pairs()
    trainer = Trainer(tiny_model(), "g", tiny_train(5), data, tmp_path)
    data.features[:] = np.nan    # deliberately broken after validation
    with pytest.raises(TrainingDiverged, match=r"iteration 1: d_loss = nan"):
        trainer.train()
    assert latest_checkpoint(tmp_path) is None


def test_samples_and_loss_history(tmp_path):
    recorder = Recorder()
    Trainer(tiny_model(), "f", tiny_train(4, sample_every=2), toy_pairs(), tmp_path, callbacks=recorder).train()
    assert [s for _, s in recorder.samples] == [2, 4]
    assert (tmp_path / "samples" / "step_00000004.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_refuses_other_variant_size_or_settings(tmp_path):
    Trainer(tiny_model(), "g", tiny_train(2), toy_pairs(), tmp_path).train()
    with pytest.raises(CheckpointMismatch, match="variant: checkpoint has 'g', expected 'f'"):
        Trainer(tiny_model(), "f", tiny_train(4), toy_pairs(), tmp_path)
    with pytest.raises(CheckpointMismatch, match="image_size: 32 != 64"):
        Trainer(tiny_model(size=64), "g", tiny_train(4), toy_pairs(size=64), tmp_path)
    with pytest.raises(CheckpointMismatch, match="batch_size: 8 != 16"):
        Trainer(tiny_model(), "g", tiny_train(4, batch_size=16), toy_pairs(), tmp_path)


def test_data_must_fit_model(tmp_path):
    with pytest.raises(ValueError, match="features have 8 dims but model sound_dim is 5"):
        Trainer(tiny_model(sound_dim=5), "g", tiny_train(2), toy_pairs(), tmp_path)
    with pytest.raises(ValueError, match="images are"):
        Trainer(tiny_model(channels=3), "g", tiny_train(2), toy_pairs(channels=1), tmp_path)


def test_summary_is_json_and_epochs_count_batches(tmp_path):
    from gan.ml.variants import TrainConfig
    cfg = TrainConfig(epochs=1.0, batch_size=16, g_steps=1, sample_every=0)
    trainer = Trainer(tiny_model(), "g", cfg, toy_pairs(n=48), tmp_path)
    assert trainer.total == 3        # 48 pairs / 16 per batch
    summary = trainer.train()
    json.dumps(summary)
    assert summary["images_per_s"] > 0


@pytest.mark.parametrize("name", ["b", "g"])
def test_cuda_code_path_bf16_autocast_and_channels_last_runs_on_cpu(tmp_path, name):
    # The optimised path CUDA takes by default ('auto'), forced on here so it is exercised without a GPU.
    trainer = Trainer(tiny_model(), name, tiny_train(3, amp="on", channels_last="on"), toy_pairs(), tmp_path)
    assert trainer.use_amp and trainer.channels_last
    summary = trainer.train()
    assert summary["amp"] and all(np.isfinite(v) for v in summary["metrics"].values())
    assert trainer.sample_images().shape == (6, 32, 32, 1)


def test_auto_flags_stay_off_on_cpu(tmp_path):
    trainer = Trainer(tiny_model(), "g", tiny_train(1), toy_pairs(), tmp_path, device="cpu")
    assert not trainer.use_amp and not trainer.channels_last


def test_finished_run_is_not_trained_again(tmp_path):
    Trainer(tiny_model(), "g", tiny_train(2), toy_pairs(), tmp_path).train()
    again = Trainer(tiny_model(), "g", tiny_train(2), toy_pairs(), tmp_path)
    summary = again.train()
    assert summary["iterations_this_session"] == 0 and summary["step"] == 2
    assert summary["checkpoint"].endswith("step_00000002.pt")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["b", "c", "g"])
def test_cuda_training_takes_the_optimised_path(tmp_path, name):
    from gan.ml.checkpoint import load_generator

    trainer = Trainer(tiny_model(), name, tiny_train(3), toy_pairs(), tmp_path, device="cuda")
    assert trainer.use_amp and trainer.channels_last
    summary = trainer.train()
    assert all(np.isfinite(v) for v in summary["metrics"].values())
    generator, info = load_generator(summary["checkpoint"], "cpu")   # a GPU checkpoint serves CPU generation
    assert info["step"] == 3 and generator(torch.zeros(1, 8), torch.zeros(1, 10)).shape == (1, 1, 32, 32)


class ScriptedValidator:
    """Returns the scores it was given, one per call."""

    def __init__(self, scores):
        self.scores, self.calls = list(scores), 0

    def __call__(self, generator):
        score = self.scores[min(self.calls, len(self.scores) - 1)]
        self.calls += 1
        return score


def test_validation_picks_the_best_checkpoint_and_stops_when_it_plateaus(tmp_path):
    validator = ScriptedValidator([0.2, 0.5, 0.4, 0.45, 0.3, 0.9])
    recorder = Recorder()
    trainer = Trainer(tiny_model(), "g", tiny_train(30, validate_every=2, patience=3,
                                                    keep_checkpoints="best-and-last"),
                      toy_pairs(), tmp_path, callbacks=recorder, validator=validator)
    summary = trainer.train()
    # scores at steps 2, 4, 6, 8, 10: best 0.5 at step 4, then three validations without improvement
    assert summary["status"] == "early-stopped" and summary["step"] == 10
    assert summary["best_step"] == 4 and summary["best_score"] == 0.5
    assert [s for s, _ in summary["validation_history"]] == [2, 4, 6, 8, 10]
    assert summary["improving_at_end"] is False
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*.pt"))
    assert kept == ["step_00000004.pt", "step_00000010.pt"]      # best and last only
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000004.pt")["validation"]["best_step"] == 4
    # resuming a converged run trains no further
    again = Trainer(tiny_model(), "g", tiny_train(30, validate_every=2, patience=3,
                                                  keep_checkpoints="best-and-last"),
                    toy_pairs(), tmp_path, validator=validator)
    assert again.train()["status"] == "early-stopped" and again.step == 10


def test_a_run_still_improving_at_its_cap_says_so(tmp_path):
    validator = ScriptedValidator([0.1, 0.2, 0.3])
    summary = Trainer(tiny_model(), "g", tiny_train(6, validate_every=2, patience=2), toy_pairs(), tmp_path,
                      validator=validator).train()
    assert summary["status"] == "completed" and summary["best_step"] == 6
    assert summary["improving_at_end"] is True


def test_validation_needs_a_validator_and_patience_needs_validation(tmp_path):
    from gan.ml.variants import ConfigError

    with pytest.raises(ValueError, match="no validator"):
        Trainer(tiny_model(), "g", tiny_train(4, validate_every=2), toy_pairs(), tmp_path)
    with pytest.raises(ConfigError, match="patience needs validate_every"):
        tiny_train(4, patience=2)


def test_d_can_learn_at_its_own_rate(tmp_path):
    from gan.ml.variants import ConfigError

    trainer = Trainer(tiny_model(), "g", tiny_train(2, lr=1e-4, d_lr=4e-4), toy_pairs(), tmp_path)
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [1e-4]
    assert [g["lr"] for g in trainer.opt_d.param_groups] == [4e-4]
    assert Trainer(tiny_model(), "g", tiny_train(2), toy_pairs(), tmp_path / "same").opt_d.param_groups[0]["lr"] == 2e-4
    with pytest.raises(ConfigError, match="d_lr"):
        tiny_train(2, d_lr=0)
