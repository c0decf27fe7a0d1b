"""Benchmark: the rater API under load, a burst of joins, and the CSV export of 1,000,000 responses.

Load (gunicorn + PostgreSQL, all phases in one run, same server, same client machinery):
  1. baseline: a trivial JSON view (/healthz, no database) hit as fast as N client threads can;
  2. saturation: N simulated raters loop "next trial" (GET .../next/) + "answer" (POST .../answers/)
     with no pause; printed: requests/s and its ratio to the baseline (target >= 0.5);
  3. think time: --raters raters, each pausing --think seconds between answers, every 5th answer
     sent twice (a retry with the same client id: must be a 200 duplicate); printed: p50/p99
     latency (target p99 < 50 ms), errors, lost answers (acknowledged but not stored) and
     duplicated ones (stored twice) (targets: 0);
  4. burst: --joins joins (POST of the study link with consent: creates a rater and reserves trials)
     arriving at each of --join-rates per second into one study from --join-concurrency connections;
     printed: p50/p99 join latency (target p99 < 250 ms), errors, and whether any trial got more
     than its target (loads recounted from the assignments; target: none).
The rate limits run on every request (their cost is measured) but are raised for the benchmark:
every simulated rater comes from 127.0.0.1 and the saturation loop is faster than any person.
CACHE_URL (e.g. redis://127.0.0.1:6379/1) is passed to the server when set, as in production.

Export: 1,000,000 responses made with SQL, exported by the app's streaming CSV path
(export_csv, what the staff downloads run: COPY by id ranges on PostgreSQL) in a fresh process, against PostgreSQL's
own COPY (SELECT <the same query>) TO STDOUT WITH CSV. Printed: rows/s for both and the export
process's peak resident-memory growth (VmHWM after the export minus before it).

Rater CPU: CPU ms of the bench process per next, per answer and per join (--cpu-joins consent POSTs
of a study link, each a new rater with 12 trials) through Django's test client (middleware included,
no HTTP server) against the trivial view, and the PostgreSQL backend's CPU ms per join: figures a
loaded machine does not blur as much as it blurs latency.

Results poll: a rating (Table 5) and a correlation (Table 6, 2,000 bootstrap resamples) study with
--poll-answers responses made in SQL; printed: CPU ms per poll computed from scratch (the baseline:
what every poll cost before the results cache) and per poll that finds nothing changed (target < 20).

The client runs in several processes (threads within each) so Python's GIL on the client side is
not what is measured; on a 2-core machine client and server still share the CPUs, which the
trivial-view baseline absorbs because it runs on the same setup.

Usage: .venv/bin/python bench/studies_load.py [--clients 32] [--raters 100] [--seconds 20] [--think 2]
       [--workers 4] [--threads 4] [--client-procs 2] [--joins 500] [--join-rates 100,20] [--export-rows 1000000]
       [--skip-load] [--skip-joins] [--skip-export] [--poll-answers 10000] [--skip-poll] [--skip-cpu]
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/evalsite_bench_studies) is dropped and
recreated: point it at a scratch database.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from multiprocessing import Pool
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/evalsite_bench_studies"


def recreate_database(url: str) -> None:
    import psycopg2
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                             password=parts.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django(media: str) -> None:
    os.environ["MEDIA_ROOT"] = media
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    import django
    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------ load test
BENCH_RATES = {"STUDIES_RATE_API_TOKEN": "100000/m", "STUDIES_RATE_MEDIA_TOKEN": "100000/m",
               "STUDIES_RATE_JOIN_IP": "100000/m", "STUDIES_RATE_JOIN_STUDY": "100000/m",
               # every join comes from this one address and none answers: the hold caps off
               "STUDIES_MAX_RATERS_PER_ADDRESS": "0", "STUDIES_NEW_RATERS_SHARE": "0"}


def _client_shard(args) -> dict:
    """One client process: one thread per entry of `work`, until the deadline."""
    import random

    import requests
    base, mode, work, seconds, think = args
    deadline = time.monotonic() + seconds
    out = {"latencies": [], "errors": [], "requests": 0, "acknowledged": [], "duplicates_ok": 0}
    lock = threading.Lock()

    def record(start, error, ack=None, dup_ok=0):
        with lock:
            out["latencies"].append(time.perf_counter() - start)
            out["requests"] += 1
            if error:
                out["errors"].append(error)
            if ack:
                out["acknowledged"].append(ack)
            out["duplicates_ok"] += dup_ok

    def trivial(_):
        session = requests.Session()
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                response = session.get(f"{base}/healthz", timeout=30)
                ok = response.status_code == 200 and response.json() == {"ok": True}
                record(start, None if ok else f"healthz {response.status_code}")
            except requests.RequestException as exc:
                record(start, f"healthz {type(exc).__name__}")

    def rater(tokens):
        session = requests.Session()
        tokens = list(tokens)
        count = 0
        if think:
            time.sleep(random.uniform(0, think))  # raters arrive spread out, not in lockstep
        while tokens and time.monotonic() < deadline:
            token = tokens[0]
            start = time.perf_counter()
            trial = None
            try:
                response = session.get(f"{base}/api/studies/rater/{token}/next/", timeout=30)
                if response.status_code != 200:
                    record(start, f"next {response.status_code}")
                    continue
                trials = response.json()["trials"]
                trial = trials[0] if trials else None
                record(start, None)
            except requests.RequestException as exc:
                record(start, f"next {type(exc).__name__}")
                continue
            if trial is None:
                tokens.pop(0)  # this rater finished: the thread goes on as its next rater
                continue
            count += 1
            body = {"trial": trial["id"], "client_id": str(uuid.uuid4()), "rating": 1 + count % 5,
                    "response_time_ms": 1200, "play_count": 1, "played_to_end": True}
            for attempt in range(2 if think and count % 5 == 0 else 1):  # every 5th: a retry too
                start = time.perf_counter()
                try:
                    response = session.post(f"{base}/api/studies/rater/{token}/answers/", json=body, timeout=30)
                    expected = 201 if attempt == 0 else 200
                    if response.status_code == expected:
                        record(start, None, ack=body["client_id"] if attempt == 0 else None, dup_ok=attempt)
                    else:
                        record(start, f"answer {response.status_code} {response.text[:100]}")
                except requests.RequestException as exc:
                    record(start, f"answer {type(exc).__name__}")
            if think:
                time.sleep(think)

    def joiner(entry_and_schedule):
        entry, schedule = entry_and_schedule
        session = requests.Session()
        # the study page's nonce, as a browser has it from the page (valid for hours, from this address)
        page = session.get(entry, timeout=30).text
        nonce = page.split('name="entry_nonce" value="', 1)[1].split('"', 1)[0]
        for at in schedule:
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            start = time.perf_counter()
            try:
                response = session.post(entry, data={"consent": "yes", "entry_nonce": nonce}, allow_redirects=False,
                                        timeout=30)
                ok = response.status_code == 302 and "/r/" in response.headers.get("Location", "")
                record(start, None if ok else f"join {response.status_code}")
            except requests.RequestException as exc:
                record(start, f"join {type(exc).__name__}")

    target = {"trivial": trivial, "rater": rater, "join": joiner}[mode]
    workers = [threading.Thread(target=target, args=(item,)) for item in work]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out


def run_phase(base: str, mode: str, work: list, seconds: float, procs: int, think: float = 0.0) -> dict:
    shards = [(base, mode, work[k::procs], seconds, think) for k in range(procs)]
    started = time.perf_counter()
    with Pool(procs) as pool:
        results = pool.map(_client_shard, shards)
    elapsed = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    requests_done = sum(r["requests"] for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"requests": requests_done, "rps": requests_done / elapsed, "p50_ms": 1000 * q[49],
            "p99_ms": 1000 * q[98], "errors": len(errors), "error_examples": sorted(set(errors))[:5],
            "acknowledged": [c for r in results for c in r["acknowledged"]],
            "duplicates_ok": sum(r["duplicates_ok"] for r in results), "seconds": elapsed}


def _line(name, r):
    return (f"{name:>24}: {r['requests']:7d} requests, {r['rps']:8.1f} req/s, p50 {r['p50_ms']:7.1f} ms, "
            f"p99 {r['p99_ms']:7.1f} ms, errors {r['errors']}" + (f" {r['error_examples']}" if r["errors"] else ""))


def _check_answers(study, acknowledged) -> str:
    from django.db.models import Count

    from studies.models import Response
    stored = set(str(c) for c in Response.objects.filter(trial__study=study).values_list("client_id", flat=True))
    doubled = (Response.objects.filter(trial__study=study).values("participant_id", "trial_id")
               .annotate(n=Count("id")).filter(n__gt=1).count())
    lost = len(set(acknowledged) - stored)
    return f"{len(acknowledged)} acknowledged, {len(stored)} stored, lost {lost}, stored twice {doubled}"


def _start_server(args, port):
    env = dict(os.environ, **BENCH_RATES)
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "evalsite.wsgi:application", "-w", str(args.workers), "--threads",
         str(args.threads), "--keep-alive", "10", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048"], cwd=REPO, env=env)
    import requests
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def load_test(args, media: str) -> None:
    from studies.selectors.loads import live_loads
    from studies.models import Trial
    from studies.services import build_rating_study, open_study, resume, start_participant
    from tests.studies.conftest import make_world

    world = make_world(sounds_per_class=10)
    per_thread = 4  # more raters than a thread can finish in the time, so no thread idles

    def rater_study(name):
        study = open_study(build_rating_study(name, world["checkpoints"], target_votes=10**6, catch_trials=0,
                                              practice_trials=0, require_full_playback=False))
        return study

    saturation = rater_study("saturation")
    think_study = rater_study("think")
    tokens = [[start_participant(saturation).token for _ in range(per_thread)] for _ in range(args.clients)]
    think_raters = []
    for _ in range(args.raters):
        rater = start_participant(think_study)
        resume(rater)  # the page calls in on load (holds are renewed by the answers that follow)
        think_raters.append([rater.token])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(args, port)
    try:
        run_phase(base, "trivial", [None] * args.clients, 2, args.client_procs)  # warm-up
        trivial = run_phase(base, "trivial", [None] * args.clients, args.seconds, args.client_procs)
        raters = run_phase(base, "rater", tokens, args.seconds, args.client_procs)
        thinking = run_phase(base, "rater", think_raters, args.seconds, args.client_procs, think=args.think)
        bursts = []
        for rate in ([] if args.skip_joins else [float(r) for r in args.join_rates.split(",")]):
            # Capacity a little above the burst: the last joins meet a nearly full study.
            join_world = make_world(sounds_per_class=10)
            burst = open_study(build_rating_study(
                f"burst {rate}", join_world["checkpoints"], target_votes=-(-args.joins * 10 * 105 // 100 // 40),
                trials_per_participant=10, catch_trials=1, practice_trials=1))
            entry = f"{base}/s/{burst.public_key}/"
            start_at = time.monotonic() + 1.0
            schedule = [start_at + k / rate for k in range(args.joins)]
            work = [(entry, schedule[k::args.join_concurrency]) for k in range(args.join_concurrency)]
            bursts.append((rate, burst, run_phase(base, "join", work, 0, args.client_procs)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\n== Rater API: gunicorn -w {args.workers} --threads {args.threads}, PostgreSQL, cache {os.environ.get('CACHE_URL') or 'files'}, "
          f"{args.client_procs} client processes, {os.cpu_count()} CPUs shared by client and server ==")
    print(_line("trivial JSON view", trivial))
    print(_line(f"raters, no pause ({args.clients})", raters))
    print(f"{'answers':>24}: {_check_answers(saturation, raters['acknowledged'])}")
    print(f"{'ratio':>24}: rater req/s / trivial req/s = {raters['rps'] / trivial['rps']:.3f} (target >= 0.5)")
    print(_line(f"{args.raters} raters, {args.think:g} s think", thinking))
    print(f"{'answers':>24}: {_check_answers(think_study, thinking['acknowledged'])}; "
          f"{thinking['duplicates_ok']} retries answered 200 (duplicate)")
    for rate, burst, joins in bursts:
        loads = live_loads(burst)
        over = [t for t in Trial.objects.filter(study=burst, role="main") if loads[t.pk] > burst.target_votes_per_item]
        drift = [t for t in Trial.objects.filter(study=burst, role="main") if t.load != loads[t.pk]]
        print(_line(f"{args.joins} joins at {rate:g}/s", joins))
        print(f"{'trials':>24}: {len(over)} over their target of {burst.target_votes_per_item}, "
              f"{len(drift)} whose load counter disagrees with the assignments; "
              f"{joins['requests'] / joins['seconds']:.1f} joins/s done")


def main() -> None:
    from studies_load_phases.export import export_bench, export_child
    from studies_load_phases.rater_cpu import rater_cpu_bench
    from studies_load_phases.results_poll import results_poll_bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="client threads of the saturation phases")
    parser.add_argument("--raters", type=int, default=100, help="raters of the think-time phase")
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--joins", type=int, default=500)
    parser.add_argument("--join-rates", default="100,20", help="bursts: joins arriving per second, one per rate")
    parser.add_argument("--join-concurrency", type=int, default=64)
    parser.add_argument("--skip-joins", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--poll-answers", type=int, default=10_000)
    parser.add_argument("--poll-cold", type=int, default=3, help="polls computed from scratch (the baseline)")
    parser.add_argument("--poll-repeats", type=int, default=50, help="polls served from the cache")
    parser.add_argument("--skip-poll", action="store_true")
    parser.add_argument("--cpu-raters", type=int, default=20, help="raters of the CPU-per-request phase")
    parser.add_argument("--cpu-joins", type=int, default=200, help="joins of the CPU-per-request phase")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    if args.export_child:
        setup_django(os.environ["MEDIA_ROOT"])
        export_child(args.export_child)
        return
    media = tempfile.mkdtemp(prefix="studies-bench-media-")
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="studies-bench-var-"))
    recreate_database(os.environ["DATABASE_URL"])
    os.environ.update(BENCH_RATES)  # the in-process phases run under the server's limits
    setup_django(media)
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    if not args.skip_load:
        load_test(args, media)
    if not args.skip_export:
        export_bench(args, media)
    if not args.skip_cpu:
        rater_cpu_bench(args)
    if not args.skip_poll:
        results_poll_bench(args)


if __name__ == "__main__":
    main()
