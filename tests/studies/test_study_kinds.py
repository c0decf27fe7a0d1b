"""The realism and pairwise study kinds end to end: built from the test world, answered through the
rater API as a browser would, with the tables, screening, stopping rule, admin, command and CSV."""
import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from studies.export import table_to_csv_rows
from studies.models import Response, Study, StudyKind, TrialRole
from studies.selectors.results import study_results
from studies.services import build_pairwise_study, build_realism_study, open_study
from studies.services.stopping import close_by_stopping_rules

from .helpers import answer_body, fetch_sound, join, post_answer, state

pytestmark = pytest.mark.django_db


def run_raters(client, study, choose, n):
    raters = []
    for k in range(n):
        rater = join(client, study)
        for trial in state(client, rater)["trials"]:
            fetch_sound(client, rater, trial)
            assignment = rater.assignments.select_related("trial__condition", "trial__other_condition").get(
                public_key=trial["id"])
            response = post_answer(client, rater, answer_body(trial, "choice", choose(k, assignment)))
            assert response.status_code == 201, response.content
        raters.append(rater)
    return raters


# ---------------------------------------------------------------------------------- realism
def test_realism_raters_answer_real_or_fake_and_the_table_counts_their_errors(client, world):
    study = open_study(build_realism_study("real", world["checkpoints"], target_votes=4, catch_trials=1,
                                           qualification_trials=2))
    first = study.conditions.get(position=0).label

    def choose(k, assignment):
        trial = assignment.trial
        if trial.role != TrialRole.MAIN:  # rater 2 fails every known item: screened out
            return trial.catch_expectation if k != 2 else {"real": "fake", "fake": "real"}[trial.catch_expectation]
        if trial.condition is None:
            return "fake" if k == 0 else "real"  # rater 0 calls every real photo fake
        return "real" if trial.condition.label == first else "fake"  # the first model fools everyone

    probe = Client()  # a rater of their own (holds trials, never answers: not in the table)
    rater = join(probe, study)
    trials = state(probe, rater)["trials"]
    assert all("image_url" in t and "left_image_url" not in t for t in trials)
    assert [t["practice"] for t in trials[:2]] == [True, True]  # qualification first
    refused = post_answer(probe, rater, answer_body(trials[0], "choice", "left"))
    assert refused.status_code == 400 and b"real or fake" in refused.content
    assert not Response.objects.filter(participant=rater).exists()
    run_raters(client, study, choose, 3)
    results = study_results(study)
    assert results["screening"]["raters_after"] == 2  # rater 2 failed the known items
    table = results["table"]
    rows = {row["condition"]: row for row in table["rows"]}
    assert rows[first]["fake_called_real"] == 1.0
    assert rows[study.conditions.get(position=1).label]["fake_called_real"] == 0.0
    assert table["real"]["real_called_fake"] == 0.5  # rater 0 wrong on all 4, rater 1 on none
    assert rows[first]["error"] == pytest.approx(0.75)
    assert results["stopping"] is None and results["planning"]
    header, long_rows = table_to_csv_rows(table)
    assert header == ["section", "row", "metric", "value"]
    assert ["rows", first, "error", pytest.approx(0.75)] in long_rows
    header, wide = table_to_csv_rows(table, "rows")
    assert "fake_called_real" in header and len(wide) == 2


# ---------------------------------------------------------------------------------- pairwise
def test_pairwise_study_pairs_every_two_models_per_sound_and_balances_sides(client, world):
    study = open_study(build_pairwise_study("pair", world["checkpoints"], target_votes=4, catch_trials=1,
                                            practice_trials=1))
    main = study.trials.filter(role=TrialRole.MAIN)
    assert main.count() == 4 and all(t.other_condition_id and t.condition_id != t.other_condition_id for t in main)
    first = study.conditions.get(position=0)

    def choose(k, assignment):  # the first model's picture always, wherever it is shown
        if assignment.trial.role == TrialRole.CATCH:
            return assignment.positive_side  # the unbroken picture
        if assignment.trial.role == TrialRole.PRACTICE:
            return "neither"
        return assignment.positive_side if assignment.trial.condition_id == first.pk else (
            "left" if assignment.positive_side == "right" else "right")

    raters = run_raters(client, study, choose, 4)
    trials = state(client, raters[0])
    sides = list(Response.objects.filter(trial__study=study, trial__role=TrialRole.MAIN)
                 .values_list("positive_side", flat=True))
    assert sides.count("left") == sides.count("right") == 8  # every rater half left, half right
    table = study_results(study)["table"]
    assert table["kind"] == "pairwise" and trials["done"]
    pair = table["pairs"][0]
    assert (pair["condition_a"], pair["a_wins"], pair["b_wins"], pair["ties"]) == (first.label, 16, 0, 0)
    assert table["strengths"][0]["rank"] is None  # always wins: no finite Bradley-Terry strength
    header, wide = table_to_csv_rows(table, "pairs")
    assert wide[0][header.index("a_win_rate")] == 1.0


def test_pairwise_needs_two_models_and_answers_left_right_or_no_difference(client, world):
    with pytest.raises(Exception, match="at least 2 checkpoints"):
        build_pairwise_study("one", world["checkpoints"][:1])
    study = open_study(build_pairwise_study("pair", world["checkpoints"], catch_trials=0, practice_trials=0))
    rater = join(Client(), study)
    client = Client()
    trial = state(client, rater)["trials"][0]
    assert "left_image_url" in trial and "image_url" not in trial
    fetch_sound(client, rater, trial)
    assert post_answer(client, rater, answer_body(trial, "choice", "real")).status_code == 400
    assert post_answer(client, rater, answer_body(trial, "choice", "neither")).status_code == 201
    assert Response.objects.get(participant=rater).chosen_role == "neither"


# ---------------------------------------------------------------------------------- stopping, admin, command
def test_stopping_rule_is_fixed_at_build_and_closes_the_study_when_met(client, world):
    with pytest.raises(Exception, match="half_width"):
        build_realism_study("bad", world["checkpoints"], stopping={"half_width": -1})
    narrow = open_study(build_realism_study("narrow", world["checkpoints"], target_votes=10, catch_trials=0,
                                            stopping={"half_width": 0.0001, "min_raters": 2}))
    wide = open_study(build_realism_study("wide", world["checkpoints"], target_votes=10, catch_trials=0,
                                          stopping={"half_width": 100, "min_raters": 2}))
    for study in (narrow, wide):
        run_raters(client, study, lambda k, a: ["real", "fake"][(k + a.position) % 2], 3)
    assert close_by_stopping_rules() == [wide.pk]
    wide.refresh_from_db()
    narrow.refresh_from_db()
    assert (wide.state, narrow.state) == ("closed", "open")
    assert wide.build_params["stopped"]["stop"] and wide.build_params["stopping"]["half_width"] == 100
    status = study_results(narrow)["stopping"]
    assert not status["stop"] and "wider than the target" in status["reason"]


def test_admin_builds_both_kinds_and_shows_their_results(client, world, staff_user):
    client.force_login(staff_user)
    build = reverse("admin:studies_study_build")
    form = {"kind": "pairwise", "name": "p", "checkpoints": [world["checkpoints"][0].pk], "target_votes": 2,
            "catch_trials": 1, "practice_trials": 1, "qualification_trials": 0, "title": "Listening study"}
    refused = client.post(build, form)
    assert refused.status_code == 200 and b"at least two checkpoints" in refused.content
    form["checkpoints"] = [c.pk for c in world["checkpoints"]]
    assert client.post(build, form).status_code == 302
    form.update(kind="realism", name="r", qualification_trials=2, stopping_half_width=0.1, stopping_min_raters=3)
    assert client.post(build, form).status_code == 302
    realism = Study.objects.get(name="r")
    assert realism.kind == StudyKind.REALISM and realism.build_params["stopping"]["half_width"] == 0.1
    open_study(realism)
    client.logout()
    run_raters(client, realism, lambda k, a: a.trial.catch_expectation or ("real" if k else "fake"), 2)
    client.force_login(staff_user)
    page = client.get(reverse("admin:studies_study_results_live", args=[realism.pk])).content.decode()
    assert 'id="realism"' in page and 'id="stopping-rule"' in page and 'id="planning"' in page
    table = client.get(reverse("admin:studies_study_table_csv", args=[realism.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(table.streaming_content).decode())))
    assert {"rows", "real", "summary"} <= {r["section"] for r in rows}
    api = client.get(reverse("studies-api:study-results", args=[realism.pk]))
    assert api.status_code == 200 and api.json()["table"]["kind"] == "realism"


def test_build_study_command_builds_realism_and_pairwise(world):
    ids = ",".join(str(c.pk) for c in world["checkpoints"])
    out = io.StringIO()
    call_command("build_study", "realism", "--checkpoints", ids, "--qualification-trials", "2",
                 "--stop-half-width", "0.05", "--open", stdout=out)
    assert "realism study" in out.getvalue() and "12 main, 2 catch, 2 practice" in out.getvalue()
    call_command("build_study", "pairwise", "--checkpoints", ids, stdout=out)
    assert "pairwise study" in out.getvalue() and "4 main" in out.getvalue()
    study = Study.objects.get(kind="realism")
    assert study.state == "open" and study.build_params["stopping"]["half_width"] == 0.05


def test_plan_study_command_reports_components_and_raters_needed(client, world):
    study = open_study(build_realism_study("pilot", world["checkpoints"], target_votes=10, catch_trials=0))
    run_raters(client, study, lambda k, a: ["real", "fake"][(k + a.position) % 2], 4)
    out = io.StringIO()
    call_command("plan_study", str(study.pk), "--half-width", "0.2", "--difference", "0.3", stdout=out)
    text = out.getvalue()
    labels = list(study.conditions.values_list("label", flat=True))
    assert all(f"error:{label}: variance rater" in text for label in labels), text
    assert f"error:{labels[0]} vs error:{labels[1]}: detectable now" in text
    with pytest.raises(Exception, match="no study"):
        call_command("plan_study", "999999")
