"""Moved to studies.services.assignment (a study write, with the other services; issue 20).

This module re-exports it for code written against the old path; import from
studies.services.assignment."""
from .services.assignment import (  # noqa: F401
    EXTEND_MARGIN, RESERVE_ROUNDS, admit_new_rater, assign_participant, close_if_complete, expire_stale, has_expired,
    join_hold, live_loads, main_slots, maintain_studies, mark_finished_participants, progress_cap, raters_needed,
    reactivate, reclaim_idle, renew_margin, resume_participant, ttl)
