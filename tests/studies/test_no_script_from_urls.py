"""No script from URLs: a crowd link whose turkSubmitTo is a javascript: URL with MTurk's host in it
runs nothing when the rater presses Submit on the done page (headless Chromium against the live
server); the submit goes to MTurk's own https endpoint, and every page carries the CSP."""
import pytest
from django.test import Client

from studies.selectors.rater import mturk_submit_url
from studies.services import build_rating_study, open_study

from tests.browser import headless_chromium

from .helpers import answer_all, join

pytestmark = pytest.mark.django_db(transaction=True)

# The parameter's value (the link has it encoded once more). A javascript: URL's body is
# percent-decoded before it runs: %0a ends the // comment, and alert() runs on the site's origin.
HOSTILE = "javascript://www.mturk.com/%0aalert(document.domain)"


@pytest.fixture
def study(world):
    return open_study(build_rating_study("xss", world["checkpoints"], target_votes=5, catch_trials=0,
                                         require_full_playback=False))


@pytest.mark.parametrize("given, expected", [
    (HOSTILE, "https://www.mturk.com/mturk/externalSubmit"),
    ("javascript://www.mturk.com/\nalert(document.domain)", "https://www.mturk.com/mturk/externalSubmit"),
    ("http://www.mturk.com", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://www.mturk.com.evil.example", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://user@workersandbox.mturk.com", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://workersandbox.mturk.com:8443", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://workersandbox.mturk.com:x", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://[workersandbox.mturk.com", "https://www.mturk.com/mturk/externalSubmit"),
    ("https://workersandbox.mturk.com/a\"><script>", "https://workersandbox.mturk.com/mturk/externalSubmit"),
    ("https://WORKERSANDBOX.mturk.com", "https://workersandbox.mturk.com/mturk/externalSubmit"),
    (None, "https://www.mturk.com/mturk/externalSubmit"),
    (["https://workersandbox.mturk.com"], "https://www.mturk.com/mturk/externalSubmit"),
])
def test_only_https_on_mturk_submit_hosts(given, expected):
    assert mturk_submit_url(given) == expected


def test_every_page_carries_the_policy(client, study, staff_user):
    client.force_login(staff_user)
    for url in (f"/s/{study.public_key}/", "/admin/", "/admin/login/", f"/admin/studies/study/{study.pk}/results/",
                "/api/docs/", "/healthz"):
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(d.split(" ", 1) for d in policy.split("; "))
        assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'", url
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'", url
        assert directives["form-action"].split()[0] == "'self'", url
        assert all(src == "'self'" or src.startswith("https://") for src in directives["form-action"].split())


def test_a_hostile_turk_submit_to_runs_nothing_in_a_real_browser(live_server, study, monkeypatch):
    client = Client()
    rater = join(client, study, assignmentId="ASSIGN1", workerId="WORKER1", hitId="HIT1",
                 turkSubmitTo=HOSTILE)
    assert rater.url_params["turkSubmitTo"].startswith("javascript:")
    assert answer_all(client, rater, "rating") > 0
    with headless_chromium(monkeypatch) as browser:
        page = browser.new_page()
        dialogs, submitted, violations = [], [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.route("https://www.mturk.com/**", lambda route: (
            submitted.append((route.request.url, route.request.post_data)),
            route.fulfill(status=200, body="submitted", content_type="text/plain")))
        page.goto(f"{live_server.url}/r/{rater.token}/done/")
        assert page.inner_text("#completion-code") == study.completion_code
        page.click("button[type=submit]")
        page.wait_for_timeout(1000)
        assert dialogs == []  # alert(document.domain) never ran
        assert [url for url, _ in submitted] == ["https://www.mturk.com/mturk/externalSubmit"]
        assert "assignmentId=ASSIGN1" in submitted[0][1]
        assert violations == []  # the page itself needs nothing the policy forbids
        page.close()
