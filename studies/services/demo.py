"""Both studies for `make demo`: built from a set of checkpoints, opened, with rater links."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from gan.models import Checkpoint

from ..errors import NoRealPhotos

from ..selectors.rater import rater_link
from .building import build_correlation_study, build_rating_study, open_study


@transaction.atomic
def build_demo_studies(checkpoints: Sequence[Checkpoint], *, correlation_checkpoint: Checkpoint | None = None,
                       base_url: str = "http://127.0.0.1:8000",
                       sounds_per_class: int | None = 2, target_votes: int = 3,
                       trials_per_participant: int | None = None, catch_trials: int = 2,
                       practice_trials: int = 1, created_by=None) -> dict:
    """Build and open a rating study over `checkpoints` (Table 5 rows, in order) and a correlation study
    over `correlation_checkpoint` (default: the last, best, of `checkpoints`). Returns {"rating": {"study", "link"}, "correlation": {"study", "link"}}.

    Catch and practice trials need real photos in the checkpoints' dataset; where there are none the
    demo builds without them rather than failing.
    """
    checkpoints = list(checkpoints)
    if not checkpoints:
        raise ValueError("build_demo_studies needs at least one checkpoint")
    common = {"sounds_per_class": sounds_per_class, "target_votes": target_votes,
              "trials_per_participant": trials_per_participant, "created_by": created_by}
    correlated = correlation_checkpoint or checkpoints[-1]
    rating = build_rating_study("Demo: rating (Table 5)", checkpoints, catch_trials=catch_trials,
                                practice_trials=practice_trials, **common)
    try:
        with transaction.atomic():
            correlation = build_correlation_study("Demo: correlation (Table 6)", correlated,
                                                  catch_trials=catch_trials, practice_trials=practice_trials, **common)
    except NoRealPhotos:
        correlation = build_correlation_study("Demo: correlation (Table 6)", correlated, catch_trials=0,
                                              practice_trials=0, **common)
    open_study(rating)
    open_study(correlation)
    return {"rating": {"study": rating, "link": rater_link(rating, base_url)},
            "correlation": {"study": correlation, "link": rater_link(correlation, base_url)}}
