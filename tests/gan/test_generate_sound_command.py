"""manage.py generate --sound FILE --checkpoint N: PNGs from a sound of your own, through the Try it
service code; every mistake is one line (CommandError) and stores nothing."""
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from gan.models import TrySound
from jobs.models import Job, JobStatus
from tests.gan.try_sound_helpers import train_tiny_checkpoint, write_tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def checkpoint(media_root, tmp_path):
    return train_tiny_checkpoint(tmp_path)


@pytest.fixture
def untrained_checkpoint(media_root):
    """A checkpoint row and a file: enough for every refusal, which happens before any job runs."""
    from gan.models import Checkpoint, Dataset, TrainingRun

    run = TrainingRun.objects.create(dataset=Dataset.objects.create(name="d", source="test", root="d"),
                                     variant="g", feature_spec={"kind": "mfcc"})
    ckpt = Checkpoint.objects.create(run=run, step=1, path="runs/x/step_00000001.pt", is_final=True)
    (media_root / "runs" / "x").mkdir(parents=True)
    (media_root / ckpt.path).write_bytes(b"weights")
    return ckpt


def generate(*args) -> str:
    out = StringIO()
    call_command("generate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_pngs_for_a_sound_at_volumes_and_seeds_are_written_to_out(checkpoint, tmp_path, media_root):
    sound = write_tone(tmp_path / "my take.wav", freq=660, seconds=0.5, noise=0.01)
    out_dir = tmp_path / "out"
    text = generate("--sound", str(sound), "--checkpoint", str(checkpoint.pk), "--volume", "0.5,2",
                    "--seed", "3", "--out", str(out_dir), "--inline")
    stored = TrySound.objects.get()
    assert f"sound #{stored.pk}: 0.5 s WAV" in text
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [f"sound{stored.pk}_ckpt{checkpoint.pk}_vol0.5_seed3.png",
                     f"sound{stored.pk}_ckpt{checkpoint.pk}_vol2_seed3.png"]
    for name in names:
        assert str(out_dir / name) in text
        assert np.asarray(Image.open(out_dir / name)).shape == (32, 32, 3)
    job = Job.objects.get(kind="try_sound")
    assert job.status == JobStatus.SUCCEEDED and job.params["volumes"] == [0.5, 2.0] and job.params["seeds"] == [3]
    # the same sound again: the stored sound is reused, and the same (sound, volume, seed) is the same image
    again = generate("--sound", str(sound), "--run", str(checkpoint.run_id), "--volumes", "2", "--seeds", "3",
                     "--inline")
    assert "(stored before)" in again and TrySound.objects.count() == 1
    made = media_root / Job.objects.filter(kind="try_sound").first().metrics["images"][0]["image"]
    assert str(made) in again
    assert np.array_equal(np.asarray(Image.open(made)),
                          np.asarray(Image.open(out_dir / f"sound{stored.pk}_ckpt{checkpoint.pk}_vol2_seed3.png")))


def test_without_a_flag_the_job_is_queued(checkpoint, tmp_path):
    sound = write_tone(tmp_path / "a.wav")
    text = generate("--sound", str(sound), "--checkpoint", str(checkpoint.pk))
    job = Job.objects.get(kind="try_sound")
    assert job.status == JobStatus.QUEUED and f"job #{job.pk} (try_sound) queued on 'gpu'" in text


@pytest.mark.parametrize("args, message", [
    (["--sound", "{tmp}/nope.wav", "--checkpoint", "{ckpt}"], "sound file {tmp}/nope.wav does not exist"),
    (["--sound", "{tmp}/silent.wav", "--checkpoint", "{ckpt}"],
     "{tmp}/silent.wav: the sound is silent (peak amplitude 0.0e+00, below 0.0001)"),
    (["--sound", "{tmp}/notes.txt", "--checkpoint", "{ckpt}"], "{tmp}/notes.txt: the file is text, not a sound"),
    (["--sound", "{tmp}/ok.wav"], "give --checkpoint or --run"),
    (["--sound", "{tmp}/ok.wav", "--checkpoint", "9999"], "checkpoint 9999 does not exist"),
    (["--sound", "{tmp}/ok.wav", "--run", "9999"], "training run 9999 does not exist or has no checkpoint"),
    (["--sound", "{tmp}/ok.wav", "--checkpoint", "{ckpt}", "--volume", "11"],
     "volume must be in (0, 10] (at least 0.01); got 11"),
    (["--sound", "{tmp}/ok.wav", "--checkpoint", "{ckpt}", "--seed", "-2"],
     "seed must be a whole number from 0 to 4294967295, not '-2'"),
    (["--sound", "{tmp}/ok.wav", "--checkpoint", "{ckpt}", "--out", "{tmp}/out"],
     "--out copies the PNGs when the job has made them: add --inline (run it here) or --wait (follow a worker)"),
])
def test_mistakes_are_one_line_and_store_nothing(untrained_checkpoint, tmp_path, media_root, args, message):
    checkpoint = untrained_checkpoint
    write_tone(tmp_path / "ok.wav")
    write_tone(tmp_path / "silent.wav", amplitude=0.0)
    (tmp_path / "notes.txt").write_text("not a sound\n")
    fill = {"tmp": str(tmp_path), "ckpt": str(checkpoint.pk)}
    files_before = sorted(media_root.rglob("*"))
    with pytest.raises(CommandError) as caught:
        generate(*[a.format(**fill) for a in args])
    assert str(caught.value) == message.format(**fill)
    assert TrySound.objects.count() == 0 and not Job.objects.filter(kind="try_sound").exists()
    assert sorted(media_root.rglob("*")) == files_before
