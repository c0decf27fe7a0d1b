"""Blinding (nothing a rater can fetch names a model, checkpoint or class) and media Range support."""
import uuid

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from studies.services import (build_correlation_study, build_pairwise_study, build_rating_study, build_realism_study,
                              open_study)

from .conftest import SECRET_WORDS
from .helpers import answer_body, join, post_answer, start, state

pytestmark = pytest.mark.django_db


def exposed(response) -> str:
    """Everything a browser sees of a response: status line, headers and body."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n" + body.decode("latin-1")


def assert_blind(text: str, where: str, extra=()):
    lowered = text.lower()
    for word in (*SECRET_WORDS, *extra):
        assert word.lower() not in lowered, f"{where} reveals {word!r}"


@pytest.mark.parametrize("build", ["rating", "correlation", "realism", "pairwise"])
def test_nothing_a_rater_fetches_names_a_model_checkpoint_or_class(client, world, build):
    if build == "rating":
        study = build_rating_study("secretrun study", world["checkpoints"], catch_trials=1, practice_trials=1)
    elif build == "realism":
        study = build_realism_study("secretrun study", world["checkpoints"], catch_trials=1, qualification_trials=2)
    elif build == "pairwise":
        study = build_pairwise_study("secretrun study", world["checkpoints"], catch_trials=1, practice_trials=1)
    else:
        study = build_correlation_study("secretrun study", world["checkpoints"][0], catch_trials=1)
    open_study(study)
    labels = list(study.conditions.values_list("label", flat=True))
    paths = [p for s in study.stimuli.all() for p in (s.source_image, s.source_sound, s.image, s.sound) if p]
    extra = [*labels, *paths]
    seen = []
    entry_url = reverse("studies:entry", args=[study.public_key])
    seen.append(("entry", client.get(entry_url)))
    post = start(client, study)
    seen.append(("start", post))
    rater = join(client, study)
    seen.append(("rater page", client.get(reverse("studies:rater", args=[rater.token]))))
    for trial in state(client, rater)["trials"]:
        seen.append(("state", client.get(reverse("studies-api:rater-state", args=[rater.token]))))
        seen.append(("next", client.get(reverse("studies-api:rater-next", args=[rater.token]))))
        for key in ("sound_url", "image_url", "left_image_url", "right_image_url"):
            if key in trial:
                seen.append((key, client.get(trial[key])))
                seen.append((key + " range", client.get(trial[key], HTTP_RANGE="bytes=0-10")))
        body = answer_body(trial, build, "real" if build == "realism" else None)
        answered = post_answer(client, rater, body)
        assert answered.status_code == 201, answered.content
        seen.append(("answer", answered))
        # The same playback (a bad answer spends no listening time: a second playback would push this
        # rater's clock of consecutive playbacks past "now" on a study of many long sounds).
        bad = {**body, "client_id": str(uuid.uuid4()), "rating": 9}
        seen.append(("bad answer", post_answer(client, rater, bad)))
    seen.append(("done", client.get(reverse("studies:done", args=[rater.token]))))
    seen.append(("404 media", client.get(reverse("studies:media", args=[rater.token, "nope", "sound"]))))
    for static in ("studies/rater.js", "studies/rater.css"):
        with open(finders.find(static), encoding="utf-8") as handle:
            assert_blind(handle.read(), static, extra)
    for where, response in seen:
        assert response.status_code < 500, where
        text = exposed(response)
        assert_blind(text, where, extra)
        assert "content-disposition" not in text.lower().split("\n\n")[0], where
    assert any(r.status_code == 206 for _, r in seen)


@pytest.fixture
def sound(client, world):
    study = open_study(build_rating_study("r", world["checkpoints"]))
    rater = join(client, study)
    trial = state(client, rater)["trials"][0]
    stimulus = rater.assignments.get(public_key=trial["id"]).trial.stimulus
    with open(stimulus_path(stimulus.sound), "rb") as handle:
        data = handle.read()
    return trial["sound_url"], data


def stimulus_path(relative):
    from django.core.files.storage import default_storage
    return default_storage.path(relative)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_full_sound_and_single_ranges(client, sound):
    url, data = sound
    size = len(data)
    whole = client.get(url)
    assert whole.status_code == 200 and body(whole) == data
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Length"] == str(size)
    assert whole["Content-Type"].startswith("audio/")
    cases = {"bytes=0-99": (0, 99), "bytes=100-": (100, size - 1), "bytes=-50": (size - 50, size - 1),
             f"bytes=10-{size + 500}": (10, size - 1), "bytes=0-0": (0, 0)}
    for header, (first, last) in cases.items():
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert response["Content-Length"] == str(last - first + 1)
        assert body(response) == data[first:last + 1], header


def test_unsatisfiable_and_ignored_ranges(client, sound):
    url, data = sound
    size = len(data)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0", "bytes=50-10"):
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{size}"
    for header in ("bytes=0-1,5-6", "items=0-5", "bytes=abc"):  # not one byte range: the whole file
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 200 and body(response) == data, header


def test_served_media_are_metadata_free_copies(media_root):
    """A source sound's tags or an image's text chunks could name the class or model: raters get
    re-encoded copies with opaque names instead."""
    import io

    import numpy as np
    import soundfile
    from django.core.files.storage import default_storage
    from PIL import Image, PngImagePlugin

    from .conftest import make_world
    world = make_world(sounds_per_class=1)
    for image in world["images"]:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "made by secretrun-alpha from zebrafinch")
        with default_storage.open(image.image.name, "rb") as handle:
            pixels = Image.open(handle).convert("RGB")
        pixels.save(default_storage.path(image.image.name), pnginfo=info)
        with soundfile.SoundFile(default_storage.path(image.sound.name), "w", 8000, 1, format="OGG",
                                 subtype="VORBIS") as sound:
            sound.title = "zebrafinch tromboneclass"
            sound.write(np.zeros(4000, dtype=np.float32))
        assert b"zebrafinch" in open(default_storage.path(image.sound.name), "rb").read()
    study = build_rating_study("r", world["checkpoints"], catch_trials=0, practice_trials=0)
    for stimulus in study.stimuli.all():
        for served, source in ((stimulus.sound, stimulus.source_sound), (stimulus.image, stimulus.source_image)):
            data = open(default_storage.path(served), "rb").read()
            assert served.startswith(f"studies/{study.public_key}/") and served != source
            assert b"zebrafinch" not in data and b"secretrun" not in data
        samples, rate = soundfile.read(io.BytesIO(open(default_storage.path(stimulus.sound), "rb").read()))
        assert rate == 8000 and len(samples) == 4000 and stimulus.sound_duration_s == 0.5
