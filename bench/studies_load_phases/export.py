"""The CSV export phase: 1,000,000 responses made in SQL, exported by the app's streaming path in a
fresh process (bench/studies_load.py --export-child) against PostgreSQL's own COPY of the same query."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "studies_load.py"


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0



def make_responses(n_rows: int, kind: str = "rating", participants_per_trial_set: int | None = None):
    """A study with n_rows responses, made in SQL (the ORM would take minutes). kind "correlation":
    choices (Table 6) instead of ratings (Table 5)."""
    from django.db import connection

    from studies.services import build_correlation_study, build_rating_study
    from tests.studies.conftest import make_world
    world = make_world(sounds_per_class=10)
    if kind == "rating":
        study = build_rating_study(f"export {n_rows}", world["checkpoints"], catch_trials=0, practice_trials=0)
        answer = "1 + a.id %% 5, '', ''"
    else:
        study = build_correlation_study(f"choices {n_rows}", world["checkpoints"][0], catch_trials=0, practice_trials=0)
        answer = ("NULL, CASE WHEN a.id %% 3 = 0 THEN 'right' ELSE 'left' END, "
                  "CASE WHEN a.id %% 3 = 0 THEN 'negative' ELSE 'positive' END")
    trials = study.trials.count()
    participants = -(-n_rows // trials)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO studies_participant (study_id, token, is_preview, platform, crowd_participant_id, "
            "crowd_study_id, crowd_session_id, url_params, user_agent, planned_main_trials, created_at, "
            "last_active_at) SELECT %s, md5(random()::text || g::text), false, 'prolific', 'P' || g::text, '', '', "
            "'{}'::jsonb, '', %s, now(), now() FROM generate_series(1, %s) g", [study.pk, trials, participants])
        cursor.execute(
            "INSERT INTO studies_assignment (participant_id, trial_id, public_key, position, positive_side, state, "
            "counts_toward_target, created_at, expires_at) SELECT p.id, t.id, md5(p.id::text || '-' || t.id::text), "
            "row_number() OVER (PARTITION BY p.id ORDER BY t.id) - 1, '', 'answered', true, now(), now() "
            "FROM studies_participant p CROSS JOIN studies_trial t WHERE p.study_id = %s AND t.study_id = %s",
            [study.pk, study.pk])
        cursor.execute(
            "INSERT INTO studies_response (assignment_id, participant_id, trial_id, client_id, rating, choice, "
            "chosen_role, response_time_ms, play_count, presented_position, positive_side, client_answered_at, "
            f"created_at) SELECT a.id, a.participant_id, a.trial_id, md5(a.id::text)::uuid, {answer}, "
            "800 + a.id %% 4000, 1 + a.id %% 3, a.position, '', now(), now() FROM studies_assignment a "
            "JOIN studies_participant p ON p.id = a.participant_id WHERE p.study_id = %s "
            "ORDER BY a.id LIMIT %s", [study.pk, n_rows])
        # A database that holds a million answers has statistics on them (autovacuum analyses a
        # table after bulk inserts, a little later): without them the planner guesses 8 rows.
        cursor.execute("ANALYZE")
    return study


class _NullSink:
    def __init__(self):
        self.bytes = 0

    def write(self, data):
        self.bytes += len(data)
        return len(data)


def export_child(study_id: int) -> None:
    """Runs in a fresh process: the app's streaming export to a null sink; prints JSON."""
    from studies.models import Study
    from studies.selectors.export import export_csv
    study = Study.objects.get(pk=study_id)
    before = peak_rss_kb()
    sink, rows = _NullSink(), 0
    start = time.perf_counter()
    for chunk in export_csv(study):
        sink.write(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    print(json.dumps({"rows": rows - 1, "seconds": elapsed, "bytes": sink.bytes,
                      "peak_growth_mb": (peak_rss_kb() - before) / 1024}))


def export_bench(args, media: str) -> None:
    from django.db import connection

    from studies.models import Response
    from studies.selectors.export import _EXPORT_FIELDS
    started = time.perf_counter()
    study = make_responses(args.export_rows)
    made = Response.objects.filter(trial__study=study).count()
    print(f"\n== CSV export: {made} responses (made in {time.perf_counter() - started:.0f} s) ==")
    child = subprocess.run([sys.executable, str(SCRIPT), "--export-child", str(study.pk)], capture_output=True,
                           text=True, env=dict(os.environ, MEDIA_ROOT=media), cwd=REPO, check=True)
    ours = json.loads(child.stdout.strip().splitlines()[-1])
    queryset = Response.objects.filter(trial__study=study, participant__is_preview=False).order_by("id").values_list(
        *_EXPORT_FIELDS)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        select = cursor.mogrify(sql, params).decode()
        sink = _NullSink()
        start = time.perf_counter()
        cursor.cursor.copy_expert(f"COPY ({select}) TO STDOUT WITH CSV HEADER", sink)
        copy_seconds = time.perf_counter() - start
    print(f"{'app export (stream)':>22}: {ours['rows']} rows in {ours['seconds']:.2f} s = "
          f"{ours['rows'] / ours['seconds']:,.0f} rows/s, {ours['bytes'] / 1e6:.0f} MB, "
          f"peak RSS growth {ours['peak_growth_mb']:.1f} MB")
    print(f"{'PostgreSQL COPY':>22}: {made} rows in {copy_seconds:.2f} s = {made / copy_seconds:,.0f} rows/s, "
          f"{sink.bytes / 1e6:.0f} MB")
    print(f"{'ratio':>22}: app rows/s / COPY rows/s = {(ours['rows'] / ours['seconds']) / (made / copy_seconds):.3f}")
