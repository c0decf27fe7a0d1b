"""The rater-CPU phase: CPU ms of this process per next, answer and join through Django's test client,
against the trivial view, and the PostgreSQL backend's CPU per join."""
from __future__ import annotations

import os
import time
from pathlib import Path


def rater_cpu_bench(args) -> None:
    """CPU ms of this process per rater request (next, answer) against the trivial view, through
    Django's test client (the whole middleware stack, no HTTP server and no client load): what a
    loaded machine cannot blur, since CPU time counts only this process's own work."""
    import uuid as _uuid

    from django.test import Client

    from studies.services import build_rating_study, open_study, start_participant
    from tests.studies.conftest import make_world
    world = make_world(sounds_per_class=10)
    study = open_study(build_rating_study("cpu", world["checkpoints"], target_votes=10**6, catch_trials=0,
                                          practice_trials=0, require_full_playback=False))
    tokens = [start_participant(study).token for _ in range(args.cpu_raters)]
    client, spent, pairs = Client(), {"next": 0.0, "answer": 0.0}, 0
    for warm_up in (True, False):
        for token in tokens:
            for _ in range(2 if warm_up else 10):
                start = time.process_time()
                trials = client.get(f"/api/studies/rater/{token}/next/").json()["trials"]
                next_cpu = time.process_time() - start
                body = {"trial": trials[0]["id"], "client_id": str(_uuid.uuid4()), "rating": 3,
                        "response_time_ms": 1200, "play_count": 1, "played_to_end": True}
                start = time.process_time()
                status = client.post(f"/api/studies/rater/{token}/answers/", body,
                                     content_type="application/json").status_code
                answer_cpu = time.process_time() - start
                assert status == 201, status
                if not warm_up:
                    spent["next"] += next_cpu
                    spent["answer"] += answer_cpu
                    pairs += 1
    start = time.process_time()
    for _ in range(pairs):
        client.get("/healthz")
    trivial = 1000 * (time.process_time() - start) / pairs
    per = {name: 1000 * total / pairs for name, total in spent.items()}
    join_cpu, join_db = join_cpu_cost(world, args.cpu_joins)
    print(f"\n== Rater CPU per request (this process, test client, n={pairs} each; joins n={args.cpu_joins}) ==")
    print(f"{'trivial JSON view':>24}: {trivial:6.2f} ms CPU")
    for name, value in {**per, "join": join_cpu}.items():
        print(f"{name:>24}: {value:6.2f} ms CPU ({value / trivial:.1f} x the trivial view)")
    print(f"{'join, PostgreSQL':>24}: {join_db:6.2f} ms CPU of the database backend per join")


def join_cpu_cost(world, joins: int) -> tuple[float, float]:
    """CPU ms per join (consent POST of the study link: a new rater with their trials) of this process
    and of its PostgreSQL backend (read from /proc: the server runs on this machine)."""
    from django.db import connection
    from django.test import Client

    from studies.services import build_rating_study, open_study
    study = open_study(build_rating_study("cpu joins", world["checkpoints"], target_votes=joins + 20,
                                          trials_per_participant=10, catch_trials=1, practice_trials=1))
    entry = f"/s/{study.public_key}/"
    page = Client().get(entry).content.decode()
    nonce = page.split('name="entry_nonce" value="', 1)[1].split('"', 1)[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def join():
        response = Client().post(entry, {"consent": "yes", "entry_nonce": nonce})
        assert response.status_code == 302, response.status_code

    for _ in range(5):
        join()
    start, db_start = time.process_time(), backend_cpu()
    for _ in range(joins):
        join()
    return 1000 * (time.process_time() - start) / joins, 1000 * (backend_cpu() - db_start) / joins
