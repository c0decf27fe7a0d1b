"""Raters arriving (studies/services/participants.py): a link's parameters are bounded and printable,
a crowd platform's ids are read from its own parameter names, a crowd id resumes only with its own
session, and a preview rater holds trials without counting."""
import pytest

from studies.errors import BadLink, CrowdEntryRefused
from studies.services import build_rating_study, open_study, start_participant
from studies.services.participants import (CROWD_FIELD_LENGTH, MAX_KEY_LENGTH, MAX_PARAM_LENGTH, MAX_URL_PARAMS,
                                           clean_url_params, crowd_identity, preview_participant)


def test_link_parameters_are_bounded_in_number_and_length_and_lose_control_characters():
    params = {f"k{n}": "v" for n in range(MAX_URL_PARAMS + 5)}
    assert len(clean_url_params(params)) == MAX_URL_PARAMS
    cleaned = clean_url_params({"x" * 500: "y" * 500, "tab\tok": "bell\x07\x00gone"})
    assert list(cleaned) == ["x" * MAX_KEY_LENGTH, "tab\tok"]
    assert cleaned["x" * MAX_KEY_LENGTH] == "y" * MAX_PARAM_LENGTH and cleaned["tab\tok"] == "bellgone"


def test_each_platform_is_read_from_its_own_parameters():
    assert crowd_identity({"PROLIFIC_PID": "p1", "STUDY_ID": "s1", "SESSION_ID": "x1", "workerId": "w"}) == {
        "platform": "prolific", "crowd_participant_id": "p1", "crowd_study_id": "s1", "crowd_session_id": "x1"}
    assert crowd_identity({"workerId": "W9", "hitId": "H", "assignmentId": "A"}) == {
        "platform": "mturk", "crowd_participant_id": "W9", "crowd_study_id": "H", "crowd_session_id": "A"}
    assert crowd_identity({"utm_source": "mail"})["platform"] == ""
    with pytest.raises(BadLink) as refused:
        crowd_identity({"workerId": "W", "hitId": "h" * (CROWD_FIELD_LENGTH + 1)})
    assert refused.value.fields == {"hitId": "too long"}


@pytest.mark.django_db
def test_a_crowd_id_resumes_with_its_own_session_and_a_preview_counts_nothing(world):
    study = open_study(build_rating_study("crowd", world["checkpoints"], target_votes=5, trials_per_participant=2))
    link = {"PROLIFIC_PID": "P1", "STUDY_ID": "S", "SESSION_ID": "first"}
    rater = start_participant(study, url_params=link)
    assert (rater.platform, rater.crowd_participant_id, rater.crowd_session_id) == ("prolific", "P1", "first")
    assert start_participant(study, url_params=dict(link)).pk == rater.pk  # the same session: the same rater
    other = start_participant(study, url_params={**link, "SESSION_ID": "second"})
    assert other.pk != rater.pk  # another session of the id is a rater of its own
    with pytest.raises(CrowdEntryRefused):
        start_participant(study, url_params={"PROLIFIC_PID": "P1", "STUDY_ID": "S"})  # no session: refused
    preview = preview_participant(study)
    assert preview.is_preview and preview.client_address == ""
    assert not preview.assignments.filter(counts_toward_target=True).exists()
