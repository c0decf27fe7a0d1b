"""Helpers for driving the rater API as a browser would."""
import uuid

from django.urls import reverse

from studies.models import Participant


def join(client, study, **params) -> Participant:
    """Open the study link, tick consent, press Start; returns the new rater."""
    url = reverse("studies:entry", args=[study.public_key])
    response = client.post(url, {"consent": "yes", **params})
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


def answer_body(trial: dict, kind: str, value=None, **extra) -> dict:
    body = {"trial": trial["id"], "client_id": str(uuid.uuid4()), "response_time_ms": 1500, "play_count": 1,
            "played_to_end": True}
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
