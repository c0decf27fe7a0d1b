"""The one read an answer needs: its assignment, what the checks need, the rater's progress, and a
response already stored under the answer's client id (a retry).

Raw SQL because it runs on every answer and the ORM spent longer building this statement
(subqueries, joins) than the database spent running it. The row is mapped by the names the
statement gives its columns.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection

from .. import prepared
from ..models import Assignment, AssignmentState, Response, Stimulus, Trial
from ..sql_values import db_time, db_uuid, read_time

_TARGET_SQL = """
SELECT a.id AS pk, a.trial_id AS trial_id, a.state AS state, a.position AS position,
       a.positive_side AS positive_side, a.counts_toward_target AS counts_toward_target,
       a.first_served_at AS first_served_at, a.expires_at AS expires_at, s.sound_duration_s AS sound_duration_s,
       (SELECT count(*) FROM {assignment} o WHERE o.participant_id = a.participant_id AND o.state = %(answered)s)
           AS n_answered,
       {overlaps} AS overlaps,
       r.participant_id AS replay_participant, ra.public_key AS replay_trial, r.rating AS replay_rating,
       r.choice AS replay_choice
FROM {assignment} a
JOIN {trial} t ON t.id = a.trial_id
JOIN {stimulus} s ON s.id = t.stimulus_id
LEFT JOIN {response} r ON r.client_id = %(client_id)s
LEFT JOIN {assignment} ra ON ra.id = r.assignment_id
WHERE a.participant_id = %(participant)s AND a.public_key = %(trial)s
"""
# Another answer of this rater whose playback overlaps the given window; only asked when the
# answer reports a playback.
_OVERLAPS_SQL = """EXISTS (SELECT 1 FROM {response} p WHERE p.participant_id = a.participant_id
                                           AND p.sound_started_at < %(played_until)s
                                           AND p.sound_ended_at > %(played_from)s)"""


_TYPES = {"answered": "text", "client_id": "uuid", "participant": "bigint", "trial": "text",
          "played_from": "timestamptz", "played_until": "timestamptz"}


def answer_target(participant_id: int, trial_key: str, client_id: uuid.UUID, *,
                  played: tuple[datetime, datetime] | None = None) -> dict | None:
    """One query: the rater's assignment `trial_key` (None if they hold no such trial) with its
    trial's sound length, the rater's answers so far (n_answered), whether another of their answers'
    playback overlaps `played` (overlaps; False without one), and replay_* of a response already
    stored under `client_id` (None when there is none)."""
    overlaps = "false" if played is None else _OVERLAPS_SQL.format(response=Response._meta.db_table)
    sql = _TARGET_SQL.format(assignment=Assignment._meta.db_table, trial=Trial._meta.db_table,
                             stimulus=Stimulus._meta.db_table, response=Response._meta.db_table, overlaps=overlaps)
    played_from, played_until = played or (None, None)
    params = {"answered": AssignmentState.ANSWERED, "client_id": db_uuid(client_id), "participant": participant_id,
              "trial": trial_key}
    if played is not None:  # only the overlap check's statement has these placeholders
        params["played_from"], params["played_until"] = db_time(played_from), db_time(played_until)
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params, _TYPES)
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    if row is None:
        return None
    target = dict(zip(names, row))
    target["counts_toward_target"] = bool(target["counts_toward_target"])
    target["overlaps"] = bool(target["overlaps"])
    target["first_served_at"] = read_time(target["first_served_at"])
    target["expires_at"] = read_time(target["expires_at"])
    return target
