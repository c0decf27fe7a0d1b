"""ORM models of the studies app, one concept per module.

A Study has Conditions (the model variants being compared, hidden from raters) and Stimuli (a sound
with one or two images and their provenance). Each Stimulus is shown as one Trial. A Participant is an
anonymous rater with a random token; the server gives each one Assignments (which trials, in which
order, on which sides) and stores one Response per assignment.
"""
from .limits import RateCounter
from .participation import Assignment, AssignmentState, Choice, ChosenRole, Participant, Response, Side
from .study import Condition, Study, StudyKind, StudyState, new_public_key
from .trials import Stimulus, Trial, TrialRole

__all__ = ["Assignment", "AssignmentState", "Choice", "ChosenRole", "Condition", "Participant",
           "RateCounter", "Response", "Side", "Stimulus", "Study", "StudyKind", "StudyState", "Trial", "TrialRole",
           "new_public_key"]
