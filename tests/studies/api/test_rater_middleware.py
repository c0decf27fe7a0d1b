"""evalsite.middleware: the rater API's calls skip sessions, authentication and messages, and
nothing else does; the headers every response carries are still on theirs."""
import pytest
from django.test import Client
from django.urls import resolve, reverse

from evalsite.middleware import RATER_API
from studies.api.rater import RaterView
from studies.services import build_rating_study, open_study

from ..helpers import answer_body, fetch_sound, join, post_answer, state

# tokens that are also words of the staff router's routes, and the converter's extremes
TOKENS = ("a", "x" * 64, "results", "close", "open", "rater", "next", "answers", "session", "A-b_9")
SUFFIXES = ("", "next/", "session/", "answers/")


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_path_the_pattern_takes_is_a_rater_view(token, suffix):
    path = f"/api/studies/rater/{token}/{suffix}"
    assert RATER_API.match(path)
    assert issubclass(resolve(path).func.cls, RaterView), path


@pytest.mark.parametrize("name", ["rater-state", "rater-next", "rater-session", "rater-answers"])
def test_every_rater_route_is_taken(name):
    assert RATER_API.match(reverse(f"studies-api:{name}", args=["tok-1"]))


@pytest.mark.parametrize("path", [
    "/api/studies/rater/", "/api/studies/rater/responses.csv", "/api/studies/rater/table.csv",
    "/api/studies/", "/api/studies/1/", "/api/studies/1/results/", "/api/studies/rater/x/close/",
    "/api/studies/rater/x", "/api/studies/rater/x/next", "/api/studies/rater/x/next/more/",
    "/api/studies/rater/" + "x" * 65 + "/", "/api/studies/rater/x.y/", "/r/tok/", "/admin/",
    "/xapi/studies/rater/x/", "/api/studies/rater/x/\n"])
def test_nothing_else_is_taken(path):
    assert not RATER_API.match(path)


@pytest.fixture
def rater(client, world):
    return join(client, open_study(build_rating_study("mw", world["checkpoints"], target_votes=3, catch_trials=0,
                                                      practice_trials=0, require_full_playback=False)))


@pytest.mark.django_db
def test_a_rater_api_call_has_no_session_and_keeps_every_header(client, rater):
    fresh = Client()  # what the page sends: no cookies at all
    trial = state(fresh, rater)["trials"][0]
    fetch_sound(fresh, rater, trial)
    answered = post_answer(fresh, rater, answer_body(trial, "rating"))
    nxt = fresh.get(reverse("studies-api:rater-next", args=[rater.token]))
    page = fresh.get("/healthz")  # the whole stack
    for response in (answered, nxt):
        assert response.status_code in (200, 201)
        assert not response.cookies, "no session or CSRF cookie on a rater API call"
        assert "Cookie" not in response.get("Vary", "")
        assert not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "user")
        for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                       "Referrer-Policy", "Cross-Origin-Opener-Policy"):
            assert response[header] == page[header], header
    assert hasattr(page.wsgi_request, "session") and hasattr(page.wsgi_request, "user")


@pytest.mark.django_db
def test_a_rater_api_call_still_checks_the_host_and_refuses_bad_input_with_4xx(rater):
    fresh = Client()
    url = reverse("studies-api:rater-answers", args=[rater.token])
    assert fresh.get(reverse("studies-api:rater-next", args=[rater.token]), HTTP_HOST="evil.example").status_code == 400
    for body, content_type in (("{", "application/json"), ('{"a": 1, "a": 2}', "application/json"),
                               ("[]", "application/json"), ("rating=3", "application/x-www-form-urlencoded"),
                               (b"\xff\xfe", "application/json")):
        response = fresh.post(url, body, content_type=content_type)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.content[:200])
        assert not response.cookies


@pytest.mark.django_db
def test_staff_endpoints_beside_the_rater_api_keep_sessions_and_csrf(rater, staff_user):
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(staff_user)
    study = rater.study
    assert staff.get(reverse("studies-api:study-results", args=[study.pk])).status_code == 200
    # a cookie session's POST without the CSRF token is refused
    assert staff.post(reverse("studies-api:study-close", args=[study.pk])).status_code == 403
    # the staff router's route under the rater prefix is a staff view with its session, not a rater call
    assert staff.get("/api/studies/rater/responses.csv").status_code == 404
    assert Client().get(reverse("studies-api:study-results", args=[study.pk])).status_code == 403
