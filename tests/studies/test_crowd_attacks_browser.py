"""A hostile page in headless Chromium against the live server: its auto-submitting form cannot make
its visitor join the study (issue 18, item 2); the visitor who presses Start on the study's own page
still joins. The MTurk iframe flow is tested in test_rater_page.py."""
import pytest

from studies.models import Participant
from studies.services import build_rating_study, open_study

from .conftest import make_world
from .test_rater_page import public_browser  # noqa: F401  (the fixture: Chromium that lets a public page reach localhost)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HOSTILE = "https://evil.example.org/free-prizes"


def test_a_hostile_page_cannot_make_its_visitors_join(public_browser, live_server, media_root):  # noqa: F811
    world = make_world(sounds_per_class=1)
    study = open_study(build_rating_study("csrf", world["checkpoints"], catch_trials=0, practice_trials=0))
    entry = f"{live_server.url}/s/{study.public_key}/"
    form = (f'<form id="f" method="post" action="{entry}"><input name="consent" value="yes"></form>'
            '<script>document.getElementById("f").submit()</script>')
    context = public_browser.new_context()
    context.route(HOSTILE, lambda route, request: route.fulfill(status=200, content_type="text/html", body=form))
    page = context.new_page()
    statuses = []
    page.on("response", lambda response: statuses.append((response.url, response.status)))
    page.goto(HOSTILE)
    page.wait_for_url(f"{entry}**")
    page.wait_for_selector("#start")  # the study's page again, refused, with a fresh nonce
    assert (entry, 403) in statuses
    assert not Participant.objects.filter(study=study).exists()
    page.check("#consent")  # the visitor decides to take part, on the study's own page
    page.click("#start")
    page.wait_for_url("**/r/**")
    assert Participant.objects.filter(study=study).count() == 1
    context.close()
