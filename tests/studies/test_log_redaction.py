"""No rater tokens in the logs: the paths Django logs for 4xx answers (and runserver for every request)
carry the token of /r/<token>/... and /api/studies/rater/<token>/... cut out, over real HTTP."""
import logging
import urllib.error
import urllib.request

import pytest
from django.test import Client

from studies.log_redaction import RedactRaterTokens, redact
from studies.services import build_rating_study, open_study

from .helpers import join

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_4xx_paths_are_logged_without_the_token(live_server, world, caplog):
    study = open_study(build_rating_study("log", world["checkpoints"], target_votes=5, catch_trials=0,
                                          require_full_playback=False))
    token = join(Client(), study).token
    with caplog.at_level(logging.INFO):
        for path in (f"/r/{token}/media/nosuchtrial/sound", f"/r/{token}/media/x/y", f"/api/studies/rater/{token}/nope/",
                     "/r/not-a-token-at-all/"):
            assert get(live_server.url + path) == 404
    logged = [record.getMessage() for record in caplog.records] + [caplog.text]
    assert any("Not Found: /r/[token]/media/nosuchtrial/sound" in line for line in logged), logged
    assert not any(token in line for line in logged)
    assert not any("not-a-token-at-all" in line for line in logged)


def test_the_filter_cuts_tokens_from_formatted_records_and_tracebacks():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "%s: %s",
                               ("Not Found", "/api/studies/rater/AbC-12_x/answers/"), None)
    assert RedactRaterTokens().filter(record) and record.getMessage() == "Not Found: /api/studies/rater/[token]/answers/"
    assert redact("GET /r/tok3n/done/ HTTP/1.1") == "GET /r/[token]/done/ HTTP/1.1"
    assert redact("/admin/studies/study/3/") == "/admin/studies/study/3/"
