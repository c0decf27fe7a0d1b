"""The rater endpoints against a crowd: any body or link gets a 4xx (never a 500), strict types,
limits per IP, study and token, crowd ids that need proof, few queries, GETs that do not write."""
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studies.models import Assignment, Participant, Response
from studies.services import build_rating_study, open_study

from .helpers import answer_body, entry_nonce, fetch_sound, join, post_answer, start, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(world):
    return open_study(build_rating_study("h", world["checkpoints"], target_votes=5, catch_trials=1,
                                         require_full_playback=False))


def first_trial(client, rater):
    trial = state(client, rater)["trials"][0]
    fetch_sound(client, rater, trial)
    return trial


def answers_url(rater):
    return reverse("studies-api:rater-answers", args=[rater.token])


def test_deeply_nested_and_odd_json_bodies_are_400(client, study):
    rater = join(client, study)
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"a":' * 1500 + b"1" + b"}" * 1500, b'{"rating": NaN}',
                b'{"rating": 3, "rating": 4}', b"\xff\xfe", b'{"trial": "\\ud800"}'):
        response = client.post(answers_url(rater), raw, content_type="application/json")
        assert response.status_code == 400, (raw[:20], response.status_code)
        assert response.json()["code"] in ("bad_json", "bad_answer")
    assert not Response.objects.exists()


@pytest.mark.parametrize("change, field", [
    ({"rating": "3"}, "rating"), ({"rating": 3.0}, "rating"), ({"rating": "3.0"}, "rating"),
    ({"rating": True}, "rating"), ({"client_id": 12345}, "client_id"), ({"play_count": "1"}, "play_count"),
    ({"played_to_end": "true"}, "played_to_end"), ({"response_time_ms": 1.5}, "response_time_ms"),
    ({"trial": 7}, "trial"), ({"ratting": 3}, "ratting"), ({"answered_at": 1700000000}, "answered_at"),
])
def test_lenient_types_and_unknown_fields_are_refused(client, study, change, field):
    rater = join(client, study)
    body = answer_body(first_trial(client, rater), "rating", 3)
    body.update(change)
    response = post_answer(client, rater, body)
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not Response.objects.exists()


def test_answer_times_in_the_future_or_before_the_start_are_refused(client, study):
    rater = join(client, study)
    trial = first_trial(client, rater)
    for when in (timezone.now() + timedelta(days=365 * 7000), timezone.now() + timedelta(hours=1),
                 rater.created_at - timedelta(days=1)):
        body = answer_body(trial, "rating", 3, answered_at=when.isoformat())
        response = post_answer(client, rater, body)
        assert response.status_code == 400 and "answered_at" in response.json()["fields"]
    ok = answer_body(trial, "rating", 3, answered_at=(timezone.now() + timedelta(seconds=30)).isoformat())
    assert post_answer(client, rater, ok).status_code == 201  # a little clock skew is fine


def test_bad_links_are_4xx_never_500(client, study):
    entry = reverse("studies:entry", args=[study.public_key])
    long_pid = "P" * 250
    response = start(client, study, {"PROLIFIC_PID": long_pid, "SESSION_ID": "s"}, url=f"{entry}?PROLIFIC_PID={long_pid}")
    assert response.status_code == 400 and b"PROLIFIC_PID" in response.content
    response = start(client, study, {"PROLIFIC_PID": "ok\x00id", "SESSION_ID": "s", "note\x00": "x\x00y"})
    assert response.status_code == 302  # control characters are dropped, not stored or fatal
    rater = Participant.objects.get(crowd_participant_id="okid")
    assert rater.url_params == {"PROLIFIC_PID": "okid", "SESSION_ID": "s", "note": "xy"}
    for path in (f"/s/{study.public_key}%00/", "/r/abc%00def/", "/api/studies/rater/%00/", "/r/" + "a" * 100 + "/",
                 "/api/studies/rater/x%00y/answers/"):
        assert client.get(path).status_code == 404, path
        assert client.post(path, "{}", content_type="application/json").status_code in (404, 405), path


def test_identical_concurrent_posts_give_one_201_and_200s(transactional_db, media_root):
    from .conftest import make_world
    world = make_world(sounds_per_class=1)
    study = open_study(build_rating_study("c", world["checkpoints"], catch_trials=0, practice_trials=0,
                                          require_full_playback=False))
    client = Client()
    rater = join(client, study)
    trial = state(client, rater)["trials"][0]
    body = json.dumps(answer_body(trial, "rating", 5))
    barrier = threading.Barrier(6)

    def send(_):
        try:
            barrier.wait(timeout=30)
            return Client().post(answers_url(rater), body, content_type="application/json").status_code
        finally:
            connections.close_all()

    for _ in range(3):  # several rounds: a race lost once would show
        Response.objects.all().delete()
        Assignment.objects.filter(participant=rater).update(state="active")
        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(send, range(6)))
        assert statuses == [200] * 5 + [201], statuses
        assert Response.objects.count() == 1


def test_rate_limits_per_token_ip_and_study_answer_429_with_retry_after(client, world, settings):
    study = open_study(build_rating_study("limits", world["checkpoints"], target_votes=50))
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "api_token": "5/m"}
    rater = join(client, study)
    url = reverse("studies-api:rater-state", args=[rater.token])
    statuses = [client.get(url).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.get(url)
    assert limited.json()["code"] == "rate_limited" and int(limited["Retry-After"]) >= 1
    other = join(client, study)  # another rater's token is not limited
    assert client.get(reverse("studies-api:rater-state", args=[other.token])).status_code == 200
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "bad_token_ip": "3/m"}
    guesses = [client.get(reverse("studies-api:rater-state", args=[f"guess{k}"])).status_code for k in range(5)]
    assert guesses == [404] * 3 + [429] * 2  # guessing tokens from one address
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "media_token": "2/m"}
    sound = state(client, other)["trials"][0]["sound_url"]
    fetched = [client.get(sound) for _ in range(3)]
    assert [r.status_code for r in fetched] == [200, 200, 429] and int(fetched[2]["Retry-After"]) >= 1

    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "3/h"}
    settings.RATELIMIT_CACHE_PREFIX += "joins"
    entry = reverse("studies:entry", args=[study.public_key])
    codes = [start(client, study).status_code for _ in range(5)]
    assert codes == [302] * 3 + [429] * 2
    assert start(client, study, REMOTE_ADDR="10.9.8.7").status_code == 302  # another address

    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "off", "join_study": "2/m"}
    settings.RATELIMIT_CACHE_PREFIX += "study"
    codes = [start(client, study, REMOTE_ADDR=f"10.0.0.{k}").status_code for k in range(4)]
    assert codes == [302, 302, 429, 429]
    before = Participant.objects.count()
    start(client, study)
    assert Participant.objects.count() == before  # a refused join creates no rater and reserves nothing


def test_a_crowd_id_alone_does_not_hand_out_an_existing_raters_link(client, study):
    first = start(client, study, {"PROLIFIC_PID": "pid-1", "SESSION_ID": "sess-1"})
    assert first.status_code == 302
    token = first["Location"].rstrip("/").split("/")[-1]
    # the same browser (its signed cookie) resumes
    again = start(client, study, {"PROLIFIC_PID": "pid-1", "SESSION_ID": "other"})
    assert again.status_code == 302 and token in again["Location"]
    # another browser that knows only the id gets nothing
    stranger = Client()
    refused = start(stranger, study, {"PROLIFIC_PID": "pid-1"})
    assert refused.status_code == 403 and token.encode() not in refused.content
    forged = Client()
    forged.cookies[f"studies-rater-{study.public_key}"] = token  # an unsigned cookie is no proof
    assert start(forged, study, {"PROLIFIC_PID": "pid-1"}).status_code == 403
    # the worker's own platform session (same SESSION_ID from Prolific's link) resumes anywhere
    same_session = start(Client(), study, {"PROLIFIC_PID": "pid-1", "SESSION_ID": "sess-1"})
    assert same_session.status_code == 302 and token in same_session["Location"]
    assert Participant.objects.filter(crowd_participant_id="pid-1").count() == 1


def test_rater_pages_may_be_framed_by_mturk_only_and_entry_needs_no_cookie(client, study):
    entry = reverse("studies:entry", args=[study.public_key])
    page = client.get(entry, {"assignmentId": "A1", "workerId": "W1", "hitId": "H1"})
    ancestors = [d for d in page["Content-Security-Policy"].split("; ") if d.startswith("frame-ancestors ")]
    assert len(ancestors) == 1 and ancestors[0].startswith("frame-ancestors 'self' ")
    assert "https://workersandbox.mturk.com" in ancestors[0]
    assert "X-Frame-Options" not in page
    no_cookies = Client(enforce_csrf_checks=True)
    started = no_cookies.post(entry + "?assignmentId=A1&workerId=W1&hitId=H1",
                              {"consent": "yes", "entry_nonce": entry_nonce(no_cookies, study)})
    assert started.status_code == 302
    rater_page = no_cookies.get(started["Location"])
    assert rater_page.status_code == 200 and "frame-ancestors" in rater_page["Content-Security-Policy"]
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"  # everything else: never framed


def _own(queries) -> list[str]:
    """The endpoint's own statements: not savepoints, not the abuse limits' counter (one upsert per
    limit in the database without Redis; none with it)."""
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE")) and "studies_ratecounter" not in q["sql"]]


def test_answer_takes_3_queries_next_2_and_gets_do_not_write(client, study):
    rater = join(client, study)
    Client().post(reverse("studies-api:rater-session", args=[rater.token]))
    trials = state(client, rater)["trials"]
    for trial in trials[:3]:
        fetch_sound(client, rater, trial)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("studies-api:rater-next", args=[rater.token]))
    sql = _own(queries)
    assert len(sql) <= 2, sql
    assert not any(s.split()[0] in ("INSERT", "UPDATE", "DELETE") for s in sql)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("studies-api:rater-state", args=[rater.token]))
    assert not any(sql.split()[0] in ("INSERT", "UPDATE", "DELETE", "WITH") for sql in _own(queries))
    for trial in trials[:2]:
        with CaptureQueriesContext(connection) as queries:
            response = post_answer(client, rater, answer_body(trial, "rating", 2))
        assert response.status_code == 201
        sql = _own(queries)
        # SQLite: claim, insert, count, renew the holds, mark progress apart
        limit = 3 if connection.vendor == "postgresql" else 7
        assert len(sql) <= limit, sql


def test_abandoned_joins_release_their_trials_fast(client, study, settings):
    from studies.services.upkeep import maintain_studies
    rater = join(client, study)
    held = rater.assignments.order_by("-position").first()
    assert held.expires_at <= timezone.now() + timedelta(minutes=settings.STUDIES_JOIN_HOLD_MINUTES, seconds=5)
    Client().post(reverse("studies-api:rater-session", args=[rater.token]))  # the page opened: no renewal
    held.refresh_from_db()
    assert held.expires_at <= timezone.now() + timedelta(minutes=settings.STUDIES_JOIN_HOLD_MINUTES, seconds=5)
    trial = state(client, rater)["trials"][0]
    fetch_sound(client, rater, trial)
    assert post_answer(client, rater, answer_body(trial, "rating")).status_code == 201  # progress: full TTL
    held.refresh_from_db()
    assert held.expires_at > timezone.now() + timedelta(minutes=study.assignment_ttl_minutes - 2)
    gone = join(client, study)  # never opens the page
    Assignment.objects.filter(participant=gone).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert maintain_studies()["expired"] == gone.assignments.count()
    assert sum(t.load for t in study.trials.filter(role="main")) == rater.assignments.filter(
        trial__role="main").count()


def test_csv_downloads_say_utf8_and_offer_excel(client, study, staff_user):
    client.force_login(staff_user)
    url = reverse("studies-api:study-responses-csv", args=[study.pk])
    plain = client.get(url)
    assert plain["Content-Type"] == "text/csv; charset=utf-8"
    assert not b"".join(plain.streaming_content).startswith(b"\xef\xbb\xbf")
    excel = client.get(url + "?excel=1")
    assert b"".join(excel.streaming_content).startswith(b"\xef\xbb\xbf")
    admin_csv = client.get(reverse("admin:studies_study_responses_csv", args=[study.pk]))
    assert admin_csv["Content-Type"] == "text/csv; charset=utf-8"


def test_api_schema_and_docs_are_for_staff_only(client, staff_user, plain_user):
    for name in ("api-schema", "api-docs"):
        assert client.get(reverse(name)).status_code == 403
    client.force_login(plain_user)
    assert client.get(reverse("api-schema")).status_code == 403
    client.force_login(staff_user)
    assert client.get(reverse("api-schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


def test_unknown_rater_token_and_uuid_client_ids(client, study):
    response = client.get(reverse("studies-api:rater-state", args=[uuid.uuid4().hex]))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_limits_count_in_redis_in_one_round_trip(client, study, settings):
    """With CACHE_URL on Redis the hot per-token limit goes to Redis directly (one pipelined trip)."""
    import os

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs a Redis server (CI and the development machines have one)")
    settings.CACHE_URL = broker  # counters are prefixed per test: nothing of the broker's is touched
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "api_token": "3/m"}
    rater = join(client, study)
    url = reverse("studies-api:rater-state", args=[rater.token])
    assert [client.get(url).status_code for _ in range(5)] == [200] * 3 + [429] * 2
    settings.STUDIES_RATES = {**settings.STUDIES_RATES, "join_ip": "2/h"}  # addresses, IPv6 by /64
    codes = [start(client, study, REMOTE_ADDR=f"2001:db8::{k}").status_code for k in range(3)]
    assert codes == [302, 302, 429]
    assert start(client, study, REMOTE_ADDR="2001:db8:1::1").status_code == 302


def test_a_rater_is_read_once_per_few_seconds_per_process(client, study, settings):
    from studies.selectors.rater import participant_for_token
    settings.STUDIES_RATER_CACHE_SECONDS = 60
    rater = join(client, study)
    with CaptureQueriesContext(connection) as first:
        participant_for_token(rater.token)
    with CaptureQueriesContext(connection) as second:
        assert participant_for_token(rater.token).pk == rater.pk
    assert len(first.captured_queries) == 1 and len(second.captured_queries) == 0
    assert participant_for_token("no-such-token") is None


@pytest.mark.db_backend("postgresql", reason="row locks (FOR UPDATE) exist on PostgreSQL; SQLite "
                                              "serialises writers with one database lock instead")
def test_a_join_takes_no_study_wide_lock_and_reads_no_assignments_of_others(client, study):
    for _ in range(3):
        join(client, study)
    with CaptureQueriesContext(connection) as queries:
        join(client, study)
    sql = [q["sql"] for q in queries.captured_queries]
    # Every row lock (FOR UPDATE, FOR NO KEY UPDATE) is taken on trial rows, in id order: never on the study.
    row_lock = re.compile(r"FROM (\S+) WHERE .*? ORDER BY (\S+)(?: ASC)? FOR (?:NO KEY )?UPDATE")
    locked = [s for s in sql if re.search(r"FOR (NO KEY )?UPDATE", s)]
    assert locked
    for statement in locked:
        match = row_lock.search(statement)
        assert match, statement
        assert match.group(1) == '"studies_trial"' and match.group(2).strip('"').endswith("id"), statement
    assert not any('"studies_study"' in s and re.search(r"FOR (NO KEY )?UPDATE", s) for s in sql)
    reads_of_assignments = [s for s in sql if s.startswith("SELECT") and 'FROM "studies_assignment"' in s]
    assert not reads_of_assignments, reads_of_assignments  # work does not grow with the study's raters
