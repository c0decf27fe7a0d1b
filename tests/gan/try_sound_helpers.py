"""What the Try it tests share: sound files of every kind a researcher may bring, and one tiny trained
checkpoint (MFCC, row g) to make images with; the `checkpoint` and `sound` fixtures (imported by name
into the test modules that use them) and `run`."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gan.services.manifest_import import import_manifest
from gan.services.sound_upload import check_sound_file, store_sound
from gan.services.training import launch_training
from jobs.engine import execute_job
from jobs.models import JobStatus
from tests.gan.synthetic import write_tone_dataset


def write_tone(path: Path, *, freq: float = 660.0, seconds: float = 1.0, rate: int = 16000,
               amplitude: float = 0.3, noise: float = 0.0, subtype: str | None = None) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    wave = amplitude * np.sin(2 * np.pi * freq * t) + noise * np.random.default_rng(0).standard_normal(t.shape)
    sf.write(path, wave.astype(np.float32), rate, subtype=subtype)
    return path


def write_webm(path: Path, *, seconds: float, rate: int = 48000, freq: float = 440.0) -> Path:
    """Opus in WebM, what Chromium's MediaRecorder sends."""
    import av

    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=rate)
        stream.layout = "mono"
        block = rate // 50
        t = np.arange(int(seconds * rate)) / rate
        wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        for start in range(0, len(wave), block):
            chunk = wave[start:start + block]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def train_tiny_checkpoint(tmp_path: Path, iterations: int = 6):
    """A row-g MFCC run on the tone dataset (a few seconds on one core); its result checkpoint."""
    dataset = import_manifest("tones", write_tone_dataset(tmp_path / "tones"), source="test",
                              image_size=32, channels=3)
    run = launch_training(dataset, variant="g", feature={"kind": "mfcc"},
                          model={"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32}, enqueue=False,
                          train={"iterations": iterations, "batch_size": 8, "checkpoint_every": iterations,
                                 "sample_every": 0, "log_every": 1})
    execute_job(run.job_id, "test")
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    return run.checkpoints.get(is_final=True)


@pytest.fixture
def checkpoint(media_root, tmp_path):
    return train_tiny_checkpoint(tmp_path)


@pytest.fixture
def sound(tmp_path):
    # like the training tones (pitch, level, noise floor): at x1 the sound sits inside the training
    # statistics, so a volume change moves the generator's input instead of both ending at its clamp
    path = write_tone(tmp_path / "mine.wav", freq=660.0, seconds=0.5, amplitude=0.3, noise=0.01)
    return store_sound(path, check_sound_file(path), original_name="mine.wav")[0]


def run(job):
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job
