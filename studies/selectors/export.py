"""The long-format export of a study's responses: one row per vote (reads only, streamed)."""
from __future__ import annotations

from collections.abc import Iterator

from django.db import connection

from ..export import stream_csv
from ..models import Response, Study
from .export_copy import copy_csv

EXPORT_HEADER = [
    "response_id", "participant", "crowd_platform", "crowd_participant_id", "trial", "trial_role", "condition",
    "checkpoint", "variant", "checkpoint_step", "sound", "sound_class", "other_class", "image", "other_image",
    "rating", "choice", "chosen_role", "positive_side", "presented_position", "response_time_ms", "play_count",
    "client_id", "client_answered_at", "saved_at", "preview", "crowd_session_id", "participant_code",
    "participant_complete", "sound_started_at", "sound_ended_at", "played_to_end",
]
_EXPORT_FIELDS = [
    "id", "participant_id", "participant__platform", "participant__crowd_participant_id", "trial_id", "trial__role",
    "trial__condition__label", "trial__condition__checkpoint_id", "trial__condition__checkpoint__run__variant",
    "trial__condition__checkpoint__step", "trial__stimulus__source_sound", "trial__stimulus__sound_label",
    "trial__stimulus__other_label", "trial__stimulus__source_image", "trial__stimulus__source_other_image", "rating", "choice",
    "chosen_role", "positive_side", "presented_position", "response_time_ms", "play_count", "client_id",
    "client_answered_at", "created_at", "participant__is_preview", "participant__crowd_session_id",
    "participant__completion_code", "participant__completed_at", "sound_started_at", "sound_ended_at",
    "played_to_end",
]
_TIMES = ("client_answered_at", "created_at", "sound_started_at", "sound_ended_at")


def _responses(study: Study, include_preview: bool):
    rows = Response.objects.filter(trial__study=study)
    return rows if include_preview else rows.filter(participant__is_preview=False)


def export_csv(study: Study, *, include_preview: bool = False, bom: bool = False) -> Iterator[bytes]:
    """The export as CSV bytes, streamed: written by PostgreSQL's COPY there (export_copy, about ten
    times faster than building the rows in Python), by `export_rows` + `stream_csv` elsewhere
    (SQLite). The same file either way."""
    if connection.vendor == "postgresql":
        return copy_csv(_responses(study, include_preview), _EXPORT_FIELDS, EXPORT_HEADER, bom=bom)
    return stream_csv(EXPORT_HEADER, export_rows(study, include_preview=include_preview), lines_per_chunk=500,
                      bom=bom)


def export_rows(study: Study, *, include_preview: bool = False, chunk_size: int = 5000) -> Iterator[list]:
    """Every response in long format, one row per vote, streamed from the database in chunks.

    Every rater's answers are listed, complete or not: `participant_complete` says whether the rater
    answered every trial of their plan (the study's count_incomplete_raters decides only what the
    results tables count), `participant_code` is the rater's own completion code and
    `crowd_session_id` the platform session their crowd id is bound to (a crowd id seen with two
    sessions is two raters: the platform's submission names the real one)."""
    rows = _responses(study, include_preview)
    times = [_EXPORT_FIELDS.index(name) for name in _TIMES]
    complete = _EXPORT_FIELDS.index("participant__completed_at")
    for row in rows.order_by("id").values_list(*_EXPORT_FIELDS).iterator(chunk_size=chunk_size):
        row = list(row)
        for index in times:
            if row[index] is not None:
                row[index] = row[index].isoformat()
        row[complete] = row[complete] is not None
        yield row
