"""A paid crowd, attacked over HTTP (issue 18, items 1, 2, 5 and the playback half of 7): each test
plays one attack through the Django test client, as a script or a hostile page would, and checks
it is refused, while the honest rater it resembles still gets through.
"""
import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studies.services.upkeep import maintain_studies
from studies.models import Assignment, AssignmentState, Participant, Response, Stimulus
from studies.services import build_rating_study, open_study

from .helpers import answer_body, entry_nonce, fetch_sound, join, post_answer, start, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(world):
    """8 main trials, 1 catch, 1 practice: a rater's plan is 10 trials."""
    return open_study(build_rating_study("attacks", world["checkpoints"], target_votes=2, catch_trials=1))


@pytest.fixture
def caps(settings):
    """The hold caps as deployed (the shared test fixture switches them off for other tests)."""
    settings.STUDIES_MAX_RATERS_PER_ADDRESS = 3
    settings.STUDIES_NEW_RATERS_SHARE = 0.5
    settings.STUDIES_NEW_RATERS_MIN = 5
    settings.STUDIES_RECLAIM_NEW_SECONDS = 60
    settings.STUDIES_RECLAIM_IDLE_MINUTES = 10


def session(client, rater):
    response = client.post(reverse("studies-api:rater-session", args=[rater.token]))
    assert response.status_code == 200, response.content
    return response.json()


def answer(client, rater, trial, **extra):
    fetch_sound(client, rater, trial)
    return post_answer(client, rater, answer_body(trial, "rating", 3, **extra))


def expire_all(rater, *, ago=timedelta(minutes=6)):
    """Time passes: `ago` since the rater joined (and since their last answer, if any), their holds
    run out, and the upkeep runs."""
    Assignment.objects.filter(participant=rater, state=AssignmentState.ACTIVE).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    rows = Participant.objects.filter(pk=rater.pk)
    rows.update(created_at=timezone.now() - ago - timedelta(minutes=1))
    rows.filter(last_active_at__isnull=False).update(last_active_at=timezone.now() - ago)
    maintain_studies()


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


# ------------------------------------------------------------------ 1. completion for work done
def test_one_answer_and_walking_away_gets_no_code(client, study):
    rater = join(client, study, PROLIFIC_PID="walker", SESSION_ID="s-walker")
    assert answer(client, rater, state(client, rater)["trials"][0]).status_code == 201
    expire_all(rater)  # the join hold and one upkeep run: the other nine went back to the pool
    shown = state(client, rater)
    assert shown["done"] is False and "completion" not in shown
    assert shown["progress"] == {"answered": 1, "total": 10, "unavailable": 9}
    done_page = client.get(reverse("studies:done", args=[rater.token])).content.decode()
    assert study.completion_code not in done_page and "prolific.com" not in done_page
    rater.refresh_from_db()
    assert rater.completed_at is None


def test_an_honest_rater_back_after_the_ttl_continues_where_they_were(client, study):
    rater = join(client, study)
    trials = state(client, rater)["trials"]
    for trial in trials[:3]:
        assert answer(client, rater, trial).status_code == 201
    expire_all(rater, ago=timedelta(hours=2))  # lunch, far past the TTL
    back = session(client, rater)  # the page calls in: the next trial comes back
    assert back["done"] is False and back["progress"]["total"] == 10
    assert [t["id"] for t in back["trials"]] == [trials[3]["id"]]
    assert answer(client, rater, back["trials"][0]).status_code == 201  # progress
    rest = session(client, rater)["trials"]  # now the rest comes back too
    assert [t["id"] for t in rest] == [t["id"] for t in trials[4:]]
    last = None
    for trial in rest:
        last = answer(client, rater, trial)
        assert last.status_code == 201
    assert last.json()["done"] is True and last.json()["completion"]["code"] == study.completion_code
    assert study.completion_code in client.get(reverse("studies:done", args=[rater.token])).content.decode()


def test_each_rater_has_an_own_code_in_the_export_and_the_admin(client, study, staff_user):
    study.per_rater_codes = True
    study.save()
    mturk = join(client, study, workerId="W1", assignmentId="A1", hitId="H1")
    prolific = join(Client(), study, PROLIFIC_PID="P1", SESSION_ID="S1")
    bodies = {}
    for rater in (mturk, prolific):
        for trial in state(client, rater)["trials"]:
            bodies[rater.pk] = answer(client, rater, trial).json()
    mturk.refresh_from_db()
    prolific.refresh_from_db()
    assert mturk.completion_code and prolific.completion_code and mturk.completion_code != prolific.completion_code
    own = bodies[mturk.pk]["completion"]
    assert own["code"] == own["rater_code"] == mturk.completion_code != study.completion_code
    assert own["mturk_submit"]["fields"]["completion_code"] == mturk.completion_code
    # Prolific checks its study's code: the standard redirect keeps it, the page shows the rater's own too
    theirs = bodies[prolific.pk]["completion"]
    assert theirs["redirect_url"].endswith(f"cc={study.completion_code}") and theirs["code"] == prolific.completion_code
    client.force_login(staff_user)
    rows = csv_rows(client.get(reverse("studies-api:study-responses-csv", args=[study.pk])))
    assert {r["participant_code"] for r in rows} == {mturk.completion_code, prolific.completion_code}
    found = client.get(reverse("admin:studies_participant_changelist"), {"q": prolific.completion_code})
    assert found.status_code == 200 and f"participant #{prolific.pk}" in found.content.decode()
    assert f"participant #{mturk.pk}" not in found.content.decode()


def test_incomplete_raters_are_marked_and_staff_choose_whether_they_count(client, study, staff_user):
    finished = join(client, study)
    for trial in state(client, finished)["trials"]:
        answer(client, finished, trial)
    partial = join(Client(), study)
    for trial in state(client, partial)["trials"][:4]:  # practice + 3
        answer(client, partial, trial)
    client.force_login(staff_user)
    rows = csv_rows(client.get(reverse("studies-api:study-responses-csv", args=[study.pk])))
    assert {(int(r["participant"]), r["participant_complete"]) for r in rows} == {
        (finished.pk, "True"), (partial.pk, "False")}
    counted = client.get(reverse("studies-api:study-results", args=[study.pk])).json()
    assert counted["progress"]["participants_incomplete"] == 1 and counted["progress"]["incomplete_counted"] is True
    page = client.get(reverse("admin:studies_study_results", args=[study.pk])).content.decode()
    assert "1 rater answered some trials but not all" in page
    study.count_incomplete_raters = False
    study.save()
    left_out = client.get(reverse("studies-api:study-results", args=[study.pk])).json()
    assert left_out["screening"]["votes_before"] == counted["screening"]["votes_before"] - Response.objects.filter(
        participant=partial, trial__role="main").count()
    assert "<b>not counted</b>" in client.get(reverse("admin:studies_study_results", args=[study.pk])).content.decode()


# ------------------------------------------------------------------ 2. holds a script cannot hoard
def test_pinging_the_session_keeps_no_hold(client, study, settings):
    rater = join(client, study)
    hold_end = timezone.now() + timedelta(minutes=settings.STUDIES_JOIN_HOLD_MINUTES, seconds=5)
    for _ in range(3):
        session(client, rater)
    assert all(a.expires_at <= hold_end for a in rater.assignments.all())  # calling in renews nothing
    expire_all(rater)
    for _ in range(3):  # and past the hold, pinging gets back one trial at most
        assert len(session(client, rater)["trials"]) <= 1
    assert rater.assignments.filter(state=AssignmentState.ACTIVE).count() <= 1


def test_scripted_joins_cannot_lock_out_a_real_rater(client, world, caps):
    study = open_study(build_rating_study("lock", world["checkpoints"], catch_trials=0, practice_trials=0))
    scripts = []
    for k in range(study.target_votes_per_item):  # as many scripted joins as votes per item, each pings once
        response = start(Client(), study, REMOTE_ADDR=f"10.1.0.{k}")
        if response.status_code == 302:
            token = response["Location"].rstrip("/").split("/")[-1]
            scripts.append(Participant.objects.get(token=token))
            Client().post(reverse("studies-api:rater-session", args=[token]), REMOTE_ADDR=f"10.1.0.{k}")
        else:
            assert response.status_code == 429 and "Retry-After" in response
    assert len(scripts) == 5  # half the raters this study needs may hold without answering, no more
    # a real rater now: room is left; and once the scripts have held a minute without answering,
    # they give their slots up first
    Participant.objects.filter(pk__in=[s.pk for s in scripts]).update(created_at=timezone.now() - timedelta(minutes=2))
    for k in range(study.target_votes_per_item):
        real = start(Client(), study, REMOTE_ADDR=f"192.0.2.{k}")
        assert real.status_code == 302, real.content[-600:]
        token = real["Location"].rstrip("/").split("/")[-1]
        rater = Participant.objects.get(token=token)
        assert rater.planned_main_trials == 8  # a whole plan
        first = state(client, rater)["trials"][0]
        assert answer(client, rater, first).status_code == 201


def test_raters_of_one_address_are_capped(client, world, caps, settings):
    study = open_study(build_rating_study("address", world["checkpoints"], target_votes=10))
    codes = [start(Client(), study, REMOTE_ADDR="203.0.113.5").status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    assert start(Client(), study, REMOTE_ADDR="203.0.113.6").status_code == 302  # another address
    assert Participant.objects.filter(is_preview=False).count() == 4
    # a loopback or private address is our own proxy (or a lab's network), not one rater: not capped
    settings.STUDIES_NEW_RATERS_SHARE = 0
    assert [start(Client(), study, REMOTE_ADDR="127.0.0.1").status_code for _ in range(4)] == [302] * 4


def test_idle_holders_give_their_slots_to_arriving_raters_first(client, world, caps):
    study = open_study(build_rating_study("idle", world["checkpoints"], target_votes=1, catch_trials=0,
                                          practice_trials=0))
    idle = join(client, study)
    answer(client, idle, state(client, idle)["trials"][0])  # answered once, then sat on the other seven
    Participant.objects.filter(pk=idle.pk).update(last_active_at=timezone.now() - timedelta(minutes=20))
    newcomer = start(Client(), study, REMOTE_ADDR="198.51.100.7")
    assert newcomer.status_code == 302  # was 409 "every trial already has its votes"
    assert Participant.objects.get(token=newcomer["Location"].rstrip("/").split("/")[-1]).planned_main_trials == 7
    assert idle.assignments.filter(state=AssignmentState.ACTIVE).count() == 0


def test_a_cross_site_page_cannot_make_its_visitors_join(client, study):
    entry = reverse("studies:entry", args=[study.public_key])
    assert client.post(entry, {"consent": "yes"}).status_code == 403  # an auto-submitting form elsewhere
    stolen = entry_nonce(Client(), study, REMOTE_ADDR="192.0.2.66")  # the attacker's own nonce
    assert client.post(entry, {"consent": "yes", "entry_nonce": stolen}).status_code == 403
    nonce = entry_nonce(client, study)
    assert client.post(entry, {"consent": "yes", "entry_nonce": nonce},
                       HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.post(entry, {"consent": "yes", "entry_nonce": "x" * 600}).status_code == 403
    assert not Participant.objects.exists()
    assert client.post(entry, {"consent": "yes", "entry_nonce": nonce},
                       HTTP_ORIGIN="http://testserver").status_code == 302  # the study's own page
    assert client.post(entry + "?workerId=W5&assignmentId=A5", {"consent": "yes", "entry_nonce": nonce,
                                                                "workerId": "W5", "assignmentId": "A5"},
                       HTTP_ORIGIN="https://workersandbox.mturk.com").status_code == 302  # MTurk's frame


# ------------------------------------------------------------------ 5. crowd ids that cannot be squatted
def test_a_squatter_cannot_take_a_workers_place(client, study, staff_user):
    squatter = start(Client(), study, {"PROLIFIC_PID": "victim", "SESSION_ID": "made-up"})
    assert squatter.status_code == 302
    real = start(Client(), study, {"PROLIFIC_PID": "victim", "SESSION_ID": "prolific-session-7"})
    assert real.status_code == 302 and real["Location"] != squatter["Location"]  # the worker is not locked out
    worker = Participant.objects.get(crowd_participant_id="victim", crowd_session_id="prolific-session-7")
    again = start(Client(), study, {"PROLIFIC_PID": "victim", "SESSION_ID": "prolific-session-7"})
    assert again["Location"] == real["Location"]  # their session resumes them on any device
    for trial in state(client, worker)["trials"][:1]:
        answer(client, worker, trial)
    client.force_login(staff_user)
    rows = csv_rows(client.get(reverse("studies-api:study-responses-csv", args=[study.pk])))
    assert {(r["crowd_participant_id"], r["crowd_session_id"]) for r in rows} == {("victim", "prolific-session-7")}


def test_a_refusal_does_not_say_whether_the_id_took_part(client, study):
    join(client, study, PROLIFIC_PID="taken", SESSION_ID="s1")
    answers = {}
    for pid in ("taken", "unknown"):
        response = start(Client(), study, {"PROLIFIC_PID": pid})  # knows an id, not its session
        body = response.content.decode()
        answers[pid] = (response.status_code, body[body.index('role="alert"'):body.index("</p>", body.index('role="alert"'))])
    assert answers["taken"] == answers["unknown"] and answers["taken"][0] == 403
    assert "has already started" not in answers["taken"][1]
    assert Participant.objects.filter(crowd_participant_id="unknown").count() == 0


# ------------------------------------------------------------------ 7. per-trial playback
def test_preloaded_sounds_are_not_playback(client, study):
    rater = join(client, study)
    trials = state(client, rater)["trials"]
    Stimulus.objects.filter(trials__study=study).update(sound_duration_s=2.0)
    for trial in trials:  # the page preloads every sound at once
        fetch_sound(client, rater, trial)
    Assignment.objects.filter(participant=rater).update(first_served_at=timezone.now() - timedelta(seconds=3))
    now = timezone.now()
    claimed = {"played_to_end": True, "sound_started_at": (now - timedelta(seconds=2.1)).isoformat(),
               "sound_ended_at": now.isoformat()}
    bare = {key: value for key, value in answer_body(trials[0], "rating", 3).items() if not key.startswith("sound_")}
    response = post_answer(client, rater, bare)  # "played to end", no playback of this trial
    assert response.status_code == 400 and response.json()["fields"]["played_to_end"] == "too early"
    short = {**bare, "sound_started_at": (now - timedelta(seconds=0.5)).isoformat(), "sound_ended_at": now.isoformat()}
    assert post_answer(client, rater, short).status_code == 400  # shorter than the sound
    statuses = [post_answer(client, rater, {**answer_body(t, "rating", 3), **claimed}).status_code for t in trials]
    assert statuses == [201] + [400] * (len(trials) - 1)  # one sound's length buys one answer, not ten
    assert Response.objects.filter(participant=rater).count() == 1


def test_played_to_end_is_what_the_server_checked(client, world):
    study = open_study(build_rating_study("free", world["checkpoints"], require_full_playback=False))
    rater = join(client, study)
    first, second = state(client, rater)["trials"][:2]
    assert answer(client, rater, first).status_code == 201  # a whole playback
    fetch_sound(client, rater, second)
    now = timezone.now()
    cut = {"played_to_end": True, "sound_started_at": (now - timedelta(seconds=0.01)).isoformat(),
           "sound_ended_at": now.isoformat()}
    body = {**answer_body(second, "rating", 2), **cut}
    assert post_answer(client, rater, body).status_code == 201  # this study takes answers mid-sound
    stored = dict(Response.objects.filter(participant=rater).values_list("assignment__public_key", "played_to_end"))
    assert stored == {first["id"]: True, second["id"]: False}


@pytest.mark.parametrize("change, field", [
    ({"sound_started_at": None, "sound_ended_at": "2026-01-01T00:00:00Z"}, "sound_started_at"),
    ({"sound_ended_at": "2020-01-01T00:00:00Z"}, "sound_ended_at"),
    ({"sound_started_at": "3000-01-01T00:00:00Z", "sound_ended_at": "3000-01-01T00:00:01Z"}, "sound_ended_at"),
    ({"sound_started_at": 1700000000}, "sound_started_at"),
    ({"sound_ended_at": "yesterday"}, "sound_ended_at"),
])
def test_impossible_playback_times_are_400(client, study, change, field):
    rater = join(client, study)
    trial = state(client, rater)["trials"][0]
    fetch_sound(client, rater, trial)
    response = post_answer(client, rater, {**answer_body(trial, "rating", 3), **change})
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not Response.objects.exists()


def test_answers_and_retries_still_count_once(client, study):
    """The holds and playback checks keep a retried answer idempotent (0 lost, 0 doubled)."""
    rater = join(client, study)
    trial = state(client, rater)["trials"][0]
    fetch_sound(client, rater, trial)
    body = answer_body(trial, "rating", 4)
    assert [post_answer(client, rater, body).status_code for _ in range(3)] == [201, 200, 200]
    assert Response.objects.filter(participant=rater).count() == 1
    assert Response.objects.get(participant=rater).client_id == uuid.UUID(body["client_id"])
