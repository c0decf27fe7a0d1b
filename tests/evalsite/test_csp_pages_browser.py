"""The staff pages work under the Content-Security-Policy: in headless Chromium, the admin (index,
change lists, a change form), the studies' results page and the API docs (Swagger UI) load with no
policy violation, and their scripts run (Swagger UI renders the schema, the results page its bars)."""
import pytest

from studies.services import build_rating_study, open_study
from tests.browser import headless_chromium
from tests.studies.conftest import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_results_and_api_docs_run_under_the_policy(live_server, staff_user, media_root, monkeypatch):
    world = make_world()
    study = open_study(build_rating_study("csp", world["checkpoints"], target_votes=5, catch_trials=0,
                                          require_full_playback=False))
    with headless_chromium(monkeypatch) as browser:
        page = browser.new_page()
        violations, errors = [], []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "staff-pass-123")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        for path in ("/admin/", "/admin/studies/study/", f"/admin/studies/study/{study.pk}/change/",
                     "/admin/gan/dataset/", f"/admin/studies/study/{study.pk}/results/", "/admin/jobs/job/",
                     "/admin/gan/evaluation/results/", "/gan/try/"):
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"], path
            page.wait_for_load_state("networkidle")
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)  # the UI ran and read the schema
        assert "Audio-to-scene platform API" in page.inner_text(".swagger-ui .info .title")
        assert violations == [] and errors == [], (violations, errors)
