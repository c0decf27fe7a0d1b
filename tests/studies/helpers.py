"""Helpers for driving the rater API as a browser would."""
import re
import uuid
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from studies.models import Participant

_NONCE = re.compile(rb'name="entry_nonce" value="([^"]+)"')


def entry_nonce(client, study, **extra) -> str:
    """The nonce the study page hands out (its Start button must bring it back, from this address)."""
    page = client.get(reverse("studies:entry", args=[study.public_key]), **extra)
    match = _NONCE.search(page.content)
    assert match, page.content[:500]
    return match.group(1).decode()


def start(client, study, data=None, *, url=None, **extra):
    """Press Start as the study page would: consent ticked, the page's nonce, `data` on top."""
    body = {"consent": "yes", "entry_nonce": entry_nonce(client, study, **extra), **(data or {})}
    return client.post(url or reverse("studies:entry", args=[study.public_key]), body, **extra)


def join(client, study, **params) -> Participant:
    """Open the study link, tick consent, press Start; returns the new rater."""
    response = start(client, study, params)
    assert response.status_code == 302, response.content[:500]
    token = response["Location"].rstrip("/").split("/")[-1]
    return Participant.objects.get(token=token)


def state(client, participant) -> dict:
    response = client.get(reverse("studies-api:rater-state", args=[participant.token]))
    assert response.status_code == 200, response.content
    return response.json()


def fetch_sound(client, participant, trial: dict) -> bytes:
    response = client.get(trial["sound_url"])
    assert response.status_code == 200
    return b"".join(response.streaming_content)


_sound_clocks: dict[str, object] = {}  # rater token -> end of the last playback reported


def playback(trial: dict) -> dict:
    """A whole playback of the trial's sound, as the page reports it: one after another per rater
    (a rater hears one sound at a time), ending about now."""
    token = trial["sound_url"].split("/r/", 1)[1].split("/", 1)[0]
    length = timedelta(seconds=trial["sound_seconds"] + 0.01)
    started = max(_sound_clocks.get(token, timezone.now() - length), timezone.now() - length)
    _sound_clocks[token] = started + length
    return {"sound_started_at": started.isoformat(), "sound_ended_at": (started + length).isoformat()}


def answer_body(trial: dict, kind: str, value=None, **extra) -> dict:
    body = {"trial": trial["id"], "client_id": str(uuid.uuid4()), "response_time_ms": 1500, "play_count": 1,
            "played_to_end": True, **playback(trial)}
    if kind == "rating":
        body["rating"] = 4 if value is None else value
    else:
        body["choice"] = "left" if value is None else value
    body.update(extra)
    return body


def post_answer(client, participant, body, **kwargs):
    return client.post(reverse("studies-api:rater-answers", args=[participant.token]), body,
                       content_type="application/json", **kwargs)


def answer_all(client, participant, kind: str, value=None) -> int:
    """Answer every pending trial; returns how many."""
    n = 0
    for trial in state(client, participant)["trials"]:
        fetch_sound(client, participant, trial)
        response = post_answer(client, participant, answer_body(trial, kind, value))
        assert response.status_code == 201, response.content
        n += 1
    return n
