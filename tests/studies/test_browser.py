"""A real rater in headless Chromium (Playwright) completes both studies against the live server:
plays each sound to its end, answers with mouse and keyboard, reloads in the middle and resumes,
finishes with the completion code; then the staff results page and the CSV show exactly those answers.
"""
import csv
import io
import json

import pytest

from studies.services.upkeep import maintain_studies
from studies.models import Response, StudyKind
from studies.services import build_correlation_study, build_rating_study, open_study

from tests.browser import headless_chromium

from .conftest import make_world

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch):
    with headless_chromium(monkeypatch, ["--autoplay-policy=no-user-gesture-required"]) as chromium:
        yield chromium


def answer_trials(page, kind, count, sent, statuses, reload_after=None, offline_at=None):
    """Answer `count` trials; odd ones by mouse, even ones by keyboard. Returns after the last.

    reload_after: reload the page before that trial (resume). offline_at: lose the network just
    before answering that trial; the answer is queued and sent when the network is back.
    """
    for k in range(count):
        if reload_after is not None and k == reload_after:
            before = page.inner_text("#progress-text")
            page.reload()
            page.wait_for_selector("#trial:not([hidden])")
            page.wait_for_function("document.querySelector('#progress-text').textContent.length > 0")
            assert page.inner_text("#progress-text") == before  # resumed where it was
        page.wait_for_selector("#trial:not([hidden])")
        page.wait_for_selector("#answers[disabled]", state="attached")
        if k % 2:
            page.click("#play")
        else:
            page.keyboard.press("Space")
        page.wait_for_selector("#answers:not([disabled])", timeout=10_000)  # only after the sound ended
        before = statuses.count(201)
        if k == offline_at:
            page.context.set_offline(True)
        if kind == StudyKind.RATING:
            value = 1 + k % 5
            if k % 2:
                page.click(f"button[data-rating='{value}']")
            else:
                page.keyboard.press(str(value))
        else:
            value = ["left", "right", "neither"][k % 3]
            if k % 2:
                page.click(f"button[data-choice='{value}']")
            else:
                page.keyboard.press({"left": "ArrowLeft", "right": "ArrowRight", "neither": "n"}[value])
        if k == offline_at:
            page.wait_for_selector("#offline:not([hidden])")
            assert statuses.count(201) == before  # nothing reached the server
            assert len(page.evaluate("JSON.parse(localStorage.getItem(Object.keys(localStorage)[0]))")) == 1
            page.context.set_offline(False)
        for _ in range(300):  # until the page's POST of this answer has been answered
            if statuses.count(201) > before:
                break
            page.wait_for_timeout(50)
        assert statuses.count(201) == before + 1 and set(statuses) == {201}, statuses
        last = list(sent.values())[-1]
        assert (last.get("rating") or last.get("choice")) == value


def complete_study(browser, live_server, study, total, offline_at=None):
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
    sent = {}  # client id -> body; a resend of a queued answer carries the same client id

    def record(request):
        if request.method == "POST" and "/answers/" in request.url:
            body = json.loads(request.post_data)
            sent[body["client_id"]] = body
    page.on("request", record)
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" and "/answers/" in r.url
            else None)
    page.goto(f"{live_server.url}/s/{study.public_key}/?PROLIFIC_PID=p1&STUDY_ID=s1&SESSION_ID=x1")
    page.check("#consent")
    page.click("#start")
    page.wait_for_url("**/r/**")
    assert page.get_attribute("#progress", "role") == "progressbar"
    assert page.get_attribute("#play", "aria-describedby") == "play-hint"
    answer_trials(page, study.kind, total, sent, statuses, reload_after=2, offline_at=offline_at)
    page.wait_for_url("**/done/")
    assert page.inner_text("#completion-code") == study.completion_code
    assert study.completion_code in page.get_attribute("#return-link", "href")
    page.close()
    return sent


def staff_csv(browser, live_server, study):
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass-123")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/results/")
    summary = page.inner_text("#screening-summary")
    text = page.request.get(f"{live_server.url}/admin/studies/study/{study.pk}/responses.csv").text()
    page.close()
    return summary, list(csv.DictReader(io.StringIO(text)))


def check_outcome(study, sent, summary, rows):
    stored = Response.objects.filter(trial__study=study)
    assert stored.count() == len(sent) == len(rows)
    given = {key: s.get("rating") or s.get("choice") for key, s in sent.items()}
    assert {r["client_id"]: (int(r["rating"]) if r["rating"] else r["choice"]) for r in rows} == given
    for row in rows:
        assert int(row["play_count"]) >= 1 and int(row["response_time_ms"]) > 0
    assert "Raters: 1 before screening" in summary


def test_rater_completes_both_studies_in_a_real_browser(browser, live_server, media_root, staff_user):
    world = make_world(sounds_per_class=1, sound_seconds=0.4)
    rating = open_study(build_rating_study("b-rating", world["checkpoints"], target_votes=1, catch_trials=1,
                                           practice_trials=1))
    correlation = open_study(build_correlation_study("b-corr", world["checkpoints"][1], target_votes=1,
                                                     catch_trials=1, practice_trials=1))
    for study, total in ((rating, 2 * 2 + 1 + 1), (correlation, 2 + 1 + 1)):
        sent = complete_study(browser, live_server, study, total, offline_at=total - 1)
        summary, rows = staff_csv(browser, live_server, study)
        check_outcome(study, sent, summary, rows)
        maintain_studies()  # the periodic job closes a study whose items all have their votes
        study.refresh_from_db()
        assert study.state == "closed"  # every item got its (one) vote
