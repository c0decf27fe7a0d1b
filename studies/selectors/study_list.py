"""Reads of the staff's study list: each study's votes against what it needs."""
from __future__ import annotations

from ..models import Response, Study, TrialRole


def vote_progress(study: Study) -> tuple[int, int]:
    """(votes, votes needed): answers to main trials from real raters (previews never count), and
    main trials times the votes wanted per item."""
    votes = Response.objects.filter(trial__study=study, trial__role=TrialRole.MAIN,
                                    participant__is_preview=False).count()
    needed = study.trials.filter(role=TrialRole.MAIN).count() * study.target_votes_per_item
    return votes, needed
