"""Results (screening, Table 5/6 from real answers), staff API, admin pages and CSV exports."""
import csv
import io
import json

import pytest
from django.urls import reverse

from studies.services.upkeep import maintain_studies
from studies.models import Response, Study, TrialRole
from studies.selectors.results import study_results
from studies.services import build_correlation_study, build_rating_study, open_study

from .helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db


def run_raters(client, study, kind, choose, n, **params):
    """n raters answer every trial; choose(rater_index, assignment) -> the value they give."""
    raters = []
    for k in range(n):
        rater = join(client, study, **({key: f"{v}{k}" for key, v in params.items()}))
        for trial in state(client, rater)["trials"]:
            fetch_sound(client, rater, trial)
            assignment = rater.assignments.select_related("trial__condition").get(public_key=trial["id"])
            response = post_answer(client, rater, answer_body(trial, kind, choose(k, assignment)))
            assert response.status_code == 201, response.content
        raters.append(rater)
    return raters


def csv_rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def rated(client, world):
    study = open_study(build_rating_study("r", world["checkpoints"], target_votes=3, catch_trials=1))
    first_label = study.conditions.get(position=0).label

    def choose(k, assignment):
        if assignment.trial.role == TrialRole.CATCH:
            return 5 if k == 2 else 1  # rater 2 rates a noise image 5: screened out
        if assignment.trial.role == TrialRole.PRACTICE:
            return 3
        return 2 if assignment.trial.condition.label == first_label else 4

    raters = run_raters(client, study, "rating", choose, 3, PROLIFIC_PID="=HYPERLINK(\"x\")", SESSION_ID="session-")
    maintain_studies()
    study.refresh_from_db()
    return study, raters


def test_rating_results_follow_the_answers_and_state_screening(rated):
    study, raters = rated
    assert study.state == "closed"  # 3 raters x every item = target 3
    results = study_results(study)
    screening = results["screening"]
    assert (screening["raters_before"], screening["raters_after"]) == (3, 2)
    assert (screening["votes_before"], screening["votes_after"]) == (24, 16)
    assert screening["excluded"][0]["rater"] == raters[2].pk
    rows = {row["condition"]: row for row in results["table"]["conditions"]}
    labels = list(study.conditions.order_by("position").values_list("label", flat=True))
    assert rows[labels[0]]["mean"] == 2.0 and rows[labels[1]]["mean"] == 4.0
    assert rows[labels[0]]["n_votes"] == 8 and rows[labels[0]]["n_raters"] == 2
    assert results["progress"]["votes"] == 24 and results["progress"]["items_complete"] == 8


def test_staff_api_and_csv_exports(client, rated, staff_user, plain_user):
    study, raters = rated
    url = reverse("studies-api:study-results", args=[study.pk])
    assert client.get(url).status_code == 403
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    assert client.get(reverse("studies-api:study-responses-csv", args=[study.pk])).status_code == 403
    client.force_login(staff_user)
    api = client.get(url).json()
    # the same numbers in the API and on the page
    assert api["table"] == json.loads(json.dumps(study_results(study)["table"]))
    listing = client.get(reverse("studies-api:study-list")).json()
    assert [s["id"] for s in listing] == [study.pk]
    export = client.get(reverse("studies-api:study-responses-csv", args=[study.pk]), HTTP_ACCEPT="text/csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = csv_rows(export)
    stored = Response.objects.filter(trial__study=study)
    assert len(rows) == stored.count() == 3 * (8 + 1 + 1)
    by_id = {int(r["response_id"]): r for r in rows}
    for response in stored.select_related("trial__condition__checkpoint__run", "trial__stimulus"):
        row = by_id[response.pk]
        assert int(row["rating"]) == response.rating and row["client_id"] == str(response.client_id)
        assert row["trial_role"] == response.trial.role
        assert int(row["presented_position"]) == response.presented_position
        if response.trial.role == TrialRole.MAIN:
            assert row["condition"] == response.trial.condition.label
            assert row["variant"] == response.trial.condition.checkpoint.run.variant
            assert row["sound_class"] == response.trial.stimulus.sound_label
    # A crowd id that a spreadsheet would execute is neutralised
    assert {r["crowd_participant_id"][:2] for r in rows} == {"'="}
    table = client.get(reverse("studies-api:study-table-csv", args=[study.pk]))
    text = b"".join(table.streaming_content).decode()
    assert "krippendorff_alpha" in text and "votes_after" in text


def test_open_close_endpoints_and_schema(client, world, staff_user):
    study = build_rating_study("r", world["checkpoints"])
    client.force_login(staff_user)
    assert client.post(reverse("studies-api:study-open", args=[study.pk])).json()["state"] == "open"
    assert client.post(reverse("studies-api:study-close", args=[study.pk])).json()["state"] == "closed"
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200 and b"/api/studies/rater/{token}/answers/" in schema.content


def test_admin_build_preview_results_and_exports(client, world, staff_user, plain_user):
    client.force_login(plain_user)
    assert client.get(reverse("admin:studies_study_build")).status_code == 302  # to the login page
    client.force_login(staff_user)
    build = reverse("admin:studies_study_build")
    assert client.get(build).status_code == 200
    form = {"kind": "correlation", "name": "c", "checkpoints": [c.pk for c in world["checkpoints"]],
            "target_votes": 2, "catch_trials": 1, "practice_trials": 1, "title": "Listening study"}
    refused = client.post(build, form)
    assert refused.status_code == 200 and b"exactly one checkpoint" in refused.content
    form["checkpoints"] = [world["checkpoints"][0].pk]
    assert client.post(build, form).status_code == 302
    study = Study.objects.get(name="c")
    assert study.state == "draft" and study.trials.count() == 4 + 1 + 1
    preview = client.get(reverse("admin:studies_study_preview", args=[study.pk]))
    assert preview.status_code == 302 and "/r/" in preview["Location"]
    page = client.get(reverse("admin:studies_study_results", args=[study.pk]))
    assert page.status_code == 200 and b"Raters: <b>0</b>" in page.content
    open_study(study)
    client.logout()
    def choose(k, assignment):  # catch trials answered right; main: left when it is the positive one
        if assignment.trial.role != TrialRole.MAIN:
            return assignment.positive_side
        return "left" if assignment.positive_side == "left" else "neither"
    run_raters(client, study, "correlation", choose, 2)
    client.force_login(staff_user)
    page = client.get(reverse("admin:studies_study_results_live", args=[study.pk])).content.decode()
    assert "Table 6" in page and "Raters: <b>2</b> before screening, <b>2</b> after" in page
    results = study_results(study)["table"]["overall"]
    assert results["n_answers"] == 8 and results["negative_count"] == 0
    assert results["positive_count"] + results["neither_count"] == 8
    assert client.get(reverse("admin:studies_study_responses_csv", args=[study.pk])).status_code == 200
    assert client.get(reverse("admin:studies_study_table_csv", args=[study.pk])).status_code == 200
    assert client.get(reverse("admin:studies_study_changelist")).status_code == 200
    assert client.get(reverse("admin:studies_study_change", args=[study.pk])).status_code == 200


def test_only_staff_reach_results_exports_and_builds(client, world, plain_user):
    study = build_rating_study("r", world["checkpoints"])
    names = ["admin:studies_study_results", "admin:studies_study_results_live", "admin:studies_study_responses_csv",
             "admin:studies_study_table_csv", "admin:studies_study_preview"]
    for logged_in in (False, True):
        if logged_in:
            client.force_login(plain_user)
        for name in names:
            response = client.get(reverse(name, args=[study.pk]))
            assert response.status_code == 302 and "/admin/login/" in response["Location"], name
        for name in ("studies-api:study-results", "studies-api:study-table-csv", "studies-api:study-detail"):
            assert client.get(reverse(name, args=[study.pk])).status_code == 403, name
        assert client.post(reverse("studies-api:study-open", args=[study.pk])).status_code == 403
    study.refresh_from_db()
    assert study.state == "draft" and not study.participants.exists()
    assert client.get(reverse("studies:healthz")).json() == {"ok": True}
