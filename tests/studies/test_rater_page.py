"""rater.js in headless Chromium: answers survive offline spells, failing servers and proxies, and
closing the page; refusals are shown; the page works inside MTurk's iframe and no other site's.

Failures are made with Playwright's route interception (the browser's requests to the answer URL
are aborted or answered by the test), so what is checked is the page's own behaviour.
"""
import json

import pytest

from studies.models import Response
from studies.services import build_correlation_study, build_rating_study, open_study

from tests.browser import headless_chromium

from .conftest import make_world
from .test_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def rating_study(trials_per_participant=None):
    world = make_world(sounds_per_class=1, sound_seconds=0.3)
    return open_study(build_rating_study("page", world["checkpoints"], target_votes=5, catch_trials=1,
                                         practice_trials=0, trials_per_participant=trials_per_participant))


def start(page, live_server, study, query=""):
    page.goto(f"{live_server.url}/s/{study.public_key}/{query}")
    page.check("#consent")
    page.click("#start")
    page.wait_for_url("**/r/**")
    page.wait_for_selector("#trial:not([hidden])")


def answer_current(page, rating=3):
    page.wait_for_selector("#trial:not([hidden])")
    page.click("#play")
    page.wait_for_selector("#answers:not([disabled])", timeout=10_000)
    page.click(f"button[data-rating='{rating}']")


def queue(page):
    return page.evaluate("""() => { const k = Object.keys(localStorage).find(k => k.startsWith('studies-queue-'));
                                   return k ? Object.values(JSON.parse(localStorage.getItem(k))) : []; }""")


def wait_until(page, check, timeout_ms=20_000):
    for _ in range(timeout_ms // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out")


def test_every_pending_trial_is_preloaded_and_answered_offline(browser, live_server, media_root):  # noqa: F811
    study = rating_study()
    page = browser.new_page()
    media_requests = []
    page.on("request", lambda r: media_requests.append(r.url) if "/media/" in r.url else None)
    start(page, live_server, study)
    total = int(page.inner_text("#progress-text").split(" of ")[1].split()[0])
    wait_until(page, lambda: len(set(media_requests)) >= 2 * total)  # a sound and a picture per trial
    page.context.set_offline(True)
    for k in range(total):  # every trial, with no network at all
        answer_current(page, 1 + k % 5)
    assert len(queue(page)) == total and page.is_visible("#offline")
    assert Response.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_url("**/done/", timeout=30_000)
    assert Response.objects.filter(participant__study=study).count() == total
    assert queue(page) == []


def test_failed_sends_are_retried_with_the_same_client_id_until_saved(browser, live_server, media_root):  # noqa: F811
    study = rating_study()
    page = browser.new_page()
    failures = iter(["abort", 503, 429, "proxy-403", 408])
    attempts = []

    def answers(route, request):
        attempts.append(json.loads(request.post_data)["client_id"])
        failure = next(failures, None)
        if failure is None:
            route.continue_()
        elif failure == "abort":
            route.abort("connectionreset")
        elif failure == "proxy-403":  # a proxy's refusal: HTML, not our API's JSON
            route.fulfill(status=403, content_type="text/html", body="<h1>Forbidden</h1>")
        else:
            route.fulfill(status=failure, content_type="text/plain", body="busy",
                          headers={"Retry-After": "1"} if failure == 429 else {})
    page.route("**/answers/", answers)
    start(page, live_server, study)
    answer_current(page, 4)
    wait_until(page, lambda: Response.objects.count() == 1, 60_000)
    assert len(attempts) == 6 and len(set(attempts)) == 1  # five failures, then saved, one client id
    assert Response.objects.get().rating == 4 and str(Response.objects.get().client_id) == attempts[0]
    wait_until(page, lambda: queue(page) == [])
    assert page.is_hidden("#error")


@pytest.mark.parametrize("status, code, shown", [
    (410, "trial_expired", "gone to another rater"),
    (409, "conflict", "already answered"),
    (409, "study_not_open", "study closed"),
])
def test_refusals_are_shown_with_what_happens_next(browser, live_server, media_root, status, code, shown):  # noqa: F811
    study = rating_study()
    page = browser.new_page()
    page.route("**/answers/", lambda route, request: route.fulfill(
        status=status, content_type="application/json", body=json.dumps({"error": "refused.", "code": code})))
    start(page, live_server, study)
    answer_current(page)
    page.wait_for_selector("#error:not([hidden])")
    assert shown in page.inner_text("#error")
    assert queue(page) == []  # the server decided; resending cannot help
    if code == "study_not_open":
        page.wait_for_function("document.querySelector('#status').textContent.includes('closed')")


def test_answers_queued_when_the_page_closes_are_sent_with_keepalive(browser, live_server, media_root):  # noqa: F811
    study = rating_study()
    context = browser.new_context()
    page = context.new_page()
    network = {"up": False}
    context.route("**/answers/", lambda route, request: route.continue_() if network["up"]
                  else route.abort("internetdisconnected"))
    start(page, live_server, study)
    answer_current(page, 2)
    wait_until(page, lambda: len(queue(page)) == 1 and page.is_visible("#offline"))
    network["up"] = True
    page.close(run_before_unload=True)  # pagehide: the queue goes out with keepalive
    # Another page of the context pumps Playwright's events (the route above answers the keepalive
    # request from this thread) while we wait up to 10 s for the answer to land.
    pump = context.new_page()
    for _ in range(100):
        if Response.objects.count():
            break
        pump.wait_for_timeout(100)
    assert Response.objects.filter(participant__study=study, rating=2).count() == 1
    context.close()


@pytest.fixture
def public_browser(monkeypatch):
    """Chromium for the framing tests. The test's 'MTurk' page is answered locally under its public
    name, but the study server is on localhost, and Chrome's private-network rules stop a public
    page from framing a local one at all; in production both are public, so those rules are off
    here and what decides is the study's own frame-ancestors header."""
    with headless_chromium(monkeypatch, [
            "--autoplay-policy=no-user-gesture-required",
            "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessForNavigations,"
            "PrivateNetworkAccessRespectPreflightResults,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks"]
            ) as launched:
        yield launched


MTURK_PARAMS = "?assignmentId=A77&hitId=H1&workerId=W99&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"


def framed_page(browser, parent_url, frame_url):  # noqa: F811  (any launched Chromium)
    context = browser.new_context()
    context.route(parent_url, lambda route, request: route.fulfill(
        status=200, content_type="text/html",
        body=f'<html><body><iframe id="task" src="{frame_url}" width="800" height="900"></iframe></body></html>'))
    page = context.new_page()
    page.goto(parent_url, wait_until="commit")
    return context, page


def test_the_study_runs_inside_mturks_iframe_without_cookies(public_browser, live_server, media_root):
    world = make_world(sounds_per_class=1, sound_seconds=0.3)
    study = open_study(build_correlation_study("mturk", world["checkpoints"][0], target_votes=2, catch_trials=0,
                                               practice_trials=0))
    context, page = framed_page(public_browser, "https://workersandbox.mturk.com/projects/1/tasks/1",
                                f"{live_server.url}/s/{study.public_key}/{MTURK_PARAMS}")
    frame = page.frame_locator("#task")
    frame.locator("#consent").check()
    frame.locator("#start").click()
    for _ in range(2):
        frame.locator("#trial:not([hidden])").wait_for()
        frame.locator("#play").click()
        frame.locator("#answers:not([disabled])").wait_for(timeout=10_000)
        frame.locator("button[data-choice='left']").click()
    frame.locator("form[action='https://workersandbox.mturk.com/mturk/externalSubmit']").wait_for(timeout=30_000)
    assert frame.locator("input[name='assignmentId']").get_attribute("value") == "A77"
    rater = Response.objects.filter(participant__study=study).select_related("participant").first().participant
    assert (rater.platform, rater.crowd_participant_id, rater.crowd_session_id) == ("mturk", "W99", "A77")
    context.close()


def test_other_sites_cannot_frame_the_study(public_browser, live_server, media_root):
    study = rating_study()
    for parent, allowed in (("https://evil.example.org/steal", False), ("https://worker.mturk.com/t", True)):
        context, page = framed_page(public_browser, parent, f"{live_server.url}/s/{study.public_key}/")
        page.wait_for_timeout(1500)
        assert ("consent" in page.frames[1].content().lower()) is allowed, parent  # frame-ancestors decides
        context.close()
