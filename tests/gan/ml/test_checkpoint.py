import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gan.ml.checkpoint import (CheckpointError, CheckpointMismatch, checkpoint_path, latest_checkpoint,
                               load_checkpoint, load_generator, save_checkpoint)
from gan.ml.trainer import Trainer

from .toy_pairs import tiny_model, tiny_train, toy_pairs

ROOT = Path(__file__).resolve().parents[3]


class ExplodesWhilePickled:
    def __reduce__(self):
        raise RuntimeError("disk went away")


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 1, "weights": torch.arange(10_000)})
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk went away"):
        save_checkpoint(path, {"step": 2, "weights": torch.arange(10_000), "bad": ExplodesWhilePickled()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


def test_process_killed_mid_write_leaves_previous_checkpoint(tmp_path):
    path = checkpoint_path(tmp_path, 5)
    save_checkpoint(path, {"step": 5, "weights": torch.ones(1000)})
    # A child process dies abruptly (no cleanup, like SIGKILL or a power cut) after writing all the
    # bytes of step 6 *over the same name* but before the rename.
    script = textwrap.dedent(f"""
        import os, torch
        from gan.ml.checkpoint import save_checkpoint
        os.fsync = lambda fd: os._exit(9)
        save_checkpoint({str(path)!r}, {{"step": 6, "weights": torch.zeros(1_000_000)}})
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 9
    leftovers = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers and leftovers[0].stat().st_size > 4_000_000   # the new bytes really were written
    state = torch.load(path, weights_only=True)
    assert state["step"] == 5 and torch.equal(state["weights"], torch.ones(1000))
    assert latest_checkpoint(tmp_path) == path                  # temp files are never taken for checkpoints


def test_garbage_and_missing_files_are_named(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt is not a readable checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save({"hello": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="is not a audio2scene-gan/1 checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    Trainer(tiny_model(), "g", tiny_train(2), toy_pairs(), run, metadata={"feature_kind": "mfcc"}).train()
    return latest_checkpoint(run)


def test_mismatch_names_variant_and_image_size(trained):
    with pytest.raises(CheckpointMismatch, match="variant: checkpoint has 'g', expected 'c'"):
        load_checkpoint(trained, expect_variant="c")
    with pytest.raises(CheckpointMismatch, match="model image_size: 32 != 64.*channels: 1 != 3"):
        load_checkpoint(trained, expect_model=tiny_model(size=64, channels=3))
    assert load_checkpoint(trained, expect_variant="g", expect_model=tiny_model())["step"] == 2


def test_load_generator_for_generation(trained):
    generator, info = load_generator(trained, "cpu")
    assert not generator.training
    assert info["variant"] == "g" and info["step"] == 2 and info["feature_kind"] == "mfcc"
    assert info["class_names"] == ["circle", "bar", "cross"]
    out = generator(torch.zeros(2, 8), torch.zeros(2, 10))
    assert out.shape == (2, 1, 32, 32)


def test_latest_checkpoint_picks_highest_step(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for step in (3, 12, 7):
        save_checkpoint(checkpoint_path(tmp_path, step), {"step": step})
    assert latest_checkpoint(tmp_path).name == "step_00000012.pt"
