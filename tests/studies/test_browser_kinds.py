"""A real rater in headless Chromium completes a realism and a pairwise study under the site's CSP:
plays each sound to its end, answers by mouse and keyboard (R / F keys, arrows and N), and the
answers stored are exactly those given; no CSP violation is reported by the page."""
import json

import pytest

from studies.models import Response
from studies.services import build_pairwise_study, build_realism_study, open_study

from tests.browser import headless_chromium

from .conftest import make_world

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KEYS = {"real": "r", "fake": "f", "left": "ArrowLeft", "right": "ArrowRight", "neither": "n"}


@pytest.fixture
def browser(monkeypatch):
    with headless_chromium(monkeypatch, ["--autoplay-policy=no-user-gesture-required"]) as chromium:
        yield chromium


def complete(browser, live_server, study, values, total):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sent, problems = [], []
    page.on("request", lambda r: sent.append(json.loads(r.post_data))
            if r.method == "POST" and "/answers/" in r.url else None)
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/s/{study.public_key}/")
    page.check("#consent")
    page.click("#start")
    page.wait_for_url("**/r/**")
    for k in range(total):
        page.wait_for_selector("#trial:not([hidden])")
        page.wait_for_selector("#answers[disabled]", state="attached")
        page.click("#play")
        page.wait_for_selector("#answers:not([disabled])", timeout=10_000)
        value = values[k % len(values)]
        before = len(sent)
        if k % 2:
            page.click(f"button[data-choice='{value}']")
        else:
            page.keyboard.press(KEYS[value])
        for _ in range(300):
            if len(sent) > before:
                break
            page.wait_for_timeout(50)
        assert sent[-1]["choice"] == value
    page.wait_for_url("**/done/")
    page.close()
    assert not problems, problems
    return sent


def test_realism_and_pairwise_rater_pages_work_in_a_real_browser(browser, live_server, media_root):
    world = make_world(sounds_per_class=1, sound_seconds=0.3)
    realism = open_study(build_realism_study("b-real", world["checkpoints"], target_votes=1, catch_trials=1,
                                             qualification_trials=1))
    sent = complete(browser, live_server, realism, ["real", "fake"], 2 * 3 + 1 + 1)
    stored = dict(Response.objects.filter(trial__study=realism).values_list("client_id", "choice"))
    assert {str(k): v for k, v in stored.items()} == {s["client_id"]: s["choice"] for s in sent}
    assert set(Response.objects.filter(trial__study=realism).values_list("chosen_role", flat=True)) == {"real", "fake"}
    pairwise = open_study(build_pairwise_study("b-pair", world["checkpoints"], target_votes=1, catch_trials=1,
                                               practice_trials=0))
    sent = complete(browser, live_server, pairwise, ["left", "right", "neither"], 2 + 1)
    assert Response.objects.filter(trial__study=pairwise).count() == len(sent) == 3
