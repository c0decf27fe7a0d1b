"""The analyses a suite makes after its children (gan/kinds/suite_analysis.py): the linear-probe
ceiling of each sound feature it trained with, on each scored split that has sounds, and how much a
checkpoint's test images change with the volume, over the sounds drawn at every volume."""
import numpy as np
import pytest
from PIL import Image

from gan.kinds.suite_analysis import probe_ceilings, volume_sensitivity
from gan.models import GeneratedImage, Pair, PairStatus, Split
from tests.gan.checkpoint_rows import make_checkpoint
from tests.gan.trained_fixtures import tones  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_the_probe_ceiling_is_scored_per_feature_on_the_splits_with_sounds(tones):
    logged = []
    plan = {"features": ["mfcc", "fbank"], "table4_feature": "mfcc"}   # mfcc in both tables: probed once
    out = probe_ceilings(tones, plan, {}, [Split.TEST, Split.HELDOUT], log=logged.append)
    assert list(out) == ["mfcc", "fbank"]
    for kind in out:
        assert list(out[kind]) == ["test"]   # the tones have no held-out source: left out, not scored 0
        test = out[kind]["test"]
        assert test["n"] == 6   # one per distinct test sound (two per class)
        # three pitches octaves apart: any of these features tells them apart
        assert test["accuracy"] == 1.0 and test["ci"][0] < 1.0 <= test["ci"][1] + 1e-9
    assert logged == ["linear probe on mfcc: test 100.0% (n 6)", "linear probe on fbank: test 100.0% (n 6)"]


def _image(media_root, name, value):
    path = media_root / "generated" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(path)
    return f"generated/{name}"


def test_volume_sensitivity_is_the_change_from_volume_1_over_sounds_drawn_at_every_volume(media_root):
    checkpoint = make_checkpoint()
    dataset = checkpoint.run.dataset
    pairs = [Pair.objects.create(dataset=dataset, sound=f"s{i}.wav", image=f"i{i}.png", label="a",
                                 split=Split.TEST if i < 4 else Split.TRAIN, status=PairStatus.KEPT) for i in range(5)]

    def draw(pair, volume, value, seed=0):
        GeneratedImage.objects.create(checkpoint=checkpoint, source_pair=pair, sound=pair.sound.name, sound_label="a",
                                      volume=volume, seed=seed,
                                      image=_image(media_root, f"{pair.pk}-{volume}-{seed}.png", value))

    assert volume_sensitivity(checkpoint, (0.5, 1.0, 3.0)) == {}   # nothing drawn yet
    for pair in pairs[:3]:
        draw(pair, 1.0, 0)
    assert volume_sensitivity(checkpoint, (0.5, 1.0, 3.0)) == {}   # one volume: nothing to compare
    for pair in pairs[:3]:
        draw(pair, 0.5, 51)     # 0.2 of the pixel range away from the image at volume 1
        draw(pair, 3.0, 102)    # 0.4 away
    draw(pairs[3], 1.0, 0)             # drawn at volume 1 only: left out
    draw(pairs[4], 1.0, 0)             # a train sound: left out
    draw(pairs[4], 3.0, 255)
    draw(pairs[0], 3.0, 255, seed=1)   # another seed: left out
    out = volume_sensitivity(checkpoint, (0.5, 1.0, 3.0))
    assert out["n_sounds"] == 3
    assert {v: (round(r["mean"], 6), r["n"]) for v, r in out["per_volume"].items()} == {
        0.5: (0.2, 3), 1.0: (0.0, 3), 3.0: (0.4, 3)}
    assert out["spearman_rho"] == pytest.approx(1.0)   # further from volume 1 (|log 3| > |log 0.5|), more change
    assert volume_sensitivity(checkpoint, (0.5, 3.0)) == {}   # without volume 1 there is no reference
