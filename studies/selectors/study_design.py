"""A study's design as a join reads it: its practice and catch trials in order and its main trials as
design slots (without their loads), read once per process while the study is open.

A study's trials are built while it is a draft and never change after it opens, so a burst of joins
needs to read only the loads (studies.selectors.loads.main_slots), not the trials with their stimuli.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..design import Slot
from ..models import Study, StudyState, Trial, TrialRole


@dataclass(frozen=True)
class StudyDesign:
    practice: tuple[int, ...]   # trial ids, in the order raters see them
    catch: tuple[int, ...]
    main: tuple[Slot, ...]      # load 0: main_slots adds the current loads


def read_design(study: Study) -> StudyDesign:
    """The design read from the database now (one query over the study's trials)."""
    rows = Trial.objects.filter(study=study).order_by("position", "id").values_list(
        "pk", "role", "condition_id", "other_condition_id", "stimulus__sound_label", "stimulus__source_sound",
        "stimulus_id")
    practice, catch, main = [], [], []
    for pk, role, condition, other, label, sound, stimulus in rows:
        if role == TrialRole.PRACTICE:
            practice.append(pk)
        elif role == TrialRole.CATCH:
            catch.append(pk)
        else:  # a pairwise trial's condition is its pair of models, so raters see every pair equally often
            main.append(Slot(trial=pk, condition=(condition, other) if other else condition, sound_class=label,
                             item=sound or f"stimulus-{stimulus}"))
    return StudyDesign(tuple(practice), tuple(catch), tuple(main))


@lru_cache(maxsize=64)
def _open_design(study_pk: int, public_key: str, opened_at) -> StudyDesign:
    return read_design(Study(pk=study_pk))


def study_design(study: Study) -> StudyDesign:
    """The design, cached per process while the study is open. The key holds the study's random
    public key and its opening time, so a reopened study, or a study of the same id in another
    database (tests), is read afresh; drafts (staff previews) are read every time."""
    if study.state != StudyState.OPEN or study.opened_at is None:
        return read_design(study)
    return _open_design(study.pk, study.public_key, study.opened_at)
