"""Benchmark: CPU per rater request through the real WSGI stack, this tree against an earlier one.

What a rater page calls in its loop (GET .../next/, POST .../answers/ in the page's own form:
JSON, no cookies) is sent straight into Django's WSGI application (evalsite.wsgi, what gunicorn
loads: the request_started/finished signals, every middleware, URL resolution, the view), with
environs shaped as gunicorn builds them, so only HTTP parsing and sockets are missing. The figure
is CPU time of the serving process per request (time.process_time), which a loaded machine does
not blur as it blurs throughput; the trivial JSON view (/healthz) is measured the same way,
interleaved with the rater requests, and every figure is also printed as a ratio to it.
Two rater loops: "hot", each rater calling again within STUDIES_RATER_CACHE_SECONDS (the process
keeps the rater and their study), and "reread", the cache off, as for a rater who thinks longer
than that between calls (most real raters: 2 s by default), where every call reads them again.

"Before" is another commit (--baseline, default the tree before the lean middleware work) and
"after" this working tree or another commit (--after), exported with `git archive` into a
temporary folder; each tree runs in fresh child processes,
alternating (--rounds), each on its own scratch database (recreated), the same Redis for the rate
limits when CACHE_URL is set, so both are measured in the same run on the same machine.
--profile prints where this tree's rater requests spend their CPU (cProfile) instead.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/evalsite_bench_cpu CACHE_URL=redis://127.0.0.1:6379/11 \
         .venv/bin/python bench/rater_cpu.py [--baseline da46d46] [--after REV] [--rounds 2] [--raters 20] [--pairs 10] [--profile]
DATABASE_URL (default sqlite under a temporary folder) gets a suffix per tree and is dropped and recreated.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "da46d46"
RATES = {"STUDIES_RATE_API_TOKEN": "100000/m", "STUDIES_RATE_MEDIA_TOKEN": "100000/m"}


def recreate_postgres(url: str) -> None:
    import psycopg2
    parts = urlparse(url)
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                             password=parts.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = parts.path.lstrip("/")
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


# ------------------------------------------------------------------------------- child process
def environ(method: str, path: str, body: bytes = b"", content_type: str = "") -> dict:
    """A WSGI environ as gunicorn builds it for a rater page's fetch (credentials: omit: no cookies)."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8000",
           "HTTP_ACCEPT": "application/json", "HTTP_USER_AGENT": "Mozilla/5.0 (bench)",
           "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9", "HTTP_ACCEPT_ENCODING": "gzip, deflate",
           "HTTP_CONNECTION": "keep-alive", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
           "wsgi.multiprocess": True, "wsgi.run_once": False}
    if body:
        env["CONTENT_LENGTH"], env["CONTENT_TYPE"] = str(len(body)), content_type
    return env


def call(application, env: dict) -> tuple[int, bytes]:
    status = []
    chunks = application(env, lambda s, headers, exc_info=None: status.append(s))
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()  # what a WSGI server does: sends request_finished
    return int(status[0].split()[0]), data


def child(tree: Path, raters: int, pairs: int, profile: bool) -> dict:
    os.chdir(tree)
    sys.path.insert(0, str(tree))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)

    from evalsite.wsgi import application
    from studies.services import build_rating_study, open_study, start_participant
    from tests.studies.conftest import make_world
    world = make_world(sounds_per_class=10)
    study = open_study(build_rating_study("cpu", world["checkpoints"], target_votes=10**6, catch_trials=0,
                                          practice_trials=0, require_full_playback=False))
    tokens = [start_participant(study).token for _ in range(raters)]
    from django.db import connections
    connections.close_all()  # the requests open their own, as a fresh web worker's do

    from django.conf import settings
    out = {}
    # hot: each rater calls again within STUDIES_RATER_CACHE_SECONDS (the process keeps them);
    # reread: every call reads the rater and study (a rater who thinks longer than that: most)
    for mode, keep in (("hot", settings.STUDIES_RATER_CACHE_SECONDS), ("reread", 0)):
        settings.STUDIES_RATER_CACHE_SECONDS = keep
        spent, n = measure(application, tokens, pairs, profile and mode == "reread")
        out.update({f"{name}{'' if mode == 'hot' else ' (reread)'}": 1000 * total / n
                    for name, total in spent.items() if not (mode == "reread" and name == "trivial")})
    return {"n": n, **out}


def measure(application, tokens, pairs: int, profile: bool) -> tuple[dict, int]:
    spent = {"trivial": 0.0, "next": 0.0, "answer": 0.0}
    n = 0
    profiler = None
    for warm_up in (True, False):
        if profile and not warm_up:
            import cProfile
            profiler = cProfile.Profile(time.process_time)  # CPU, not the waits on sockets
            profiler.enable()
        for token in tokens:
            for _ in range(2 if warm_up else pairs):
                start = time.process_time()
                status, data = call(application, environ("GET", "/healthz"))
                trivial = time.process_time() - start
                assert status == 200, (status, data[:300])
                start = time.process_time()
                status, data = call(application, environ("GET", f"/api/studies/rater/{token}/next/"))
                next_cpu = time.process_time() - start
                assert status == 200, (status, data[:300])
                trial = json.loads(data)["trials"][0]["id"]
                body = json.dumps({"trial": trial, "client_id": str(uuid.uuid4()), "rating": 3,
                                   "response_time_ms": 1200, "play_count": 1, "played_to_end": True}).encode()
                start = time.process_time()
                status, data = call(application, environ("POST", f"/api/studies/rater/{token}/answers/", body,
                                                         "application/json"))
                answer_cpu = time.process_time() - start
                assert status == 201, (status, data[:300])
                if not warm_up:
                    spent["trivial"] += trivial
                    spent["next"] += next_cpu
                    spent["answer"] += answer_cpu
                    n += 1
    if profiler is not None:
        import pstats
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    return spent, n


# ------------------------------------------------------------------------------- parent process
def export_tree(commit: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"rater-cpu-{commit}-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run_child(tree: Path, label: str, args, base_url: str) -> dict:
    var = tempfile.mkdtemp(prefix=f"rater-cpu-var-{label}-")
    env = dict(os.environ, **RATES, VAR_DIR=var, MEDIA_ROOT=str(Path(var) / "media"), PYTHONHASHSEED="0")
    if base_url.startswith("postgres"):
        url = f"{base_url}_{label}"
        recreate_postgres(url)
        env["DATABASE_URL"] = url
    else:
        env["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
    command = [sys.executable, str(REPO / "bench" / "rater_cpu.py"), "--child", str(tree),
               "--raters", str(args.raters), "--pairs", str(args.pairs)] + (["--profile"] if args.profile else [])
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{label} child failed:\n{out.stderr[-4000:]}")
    if args.profile:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit measured as 'before'")
    parser.add_argument("--after", default="", help="the commit measured as 'after' (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=2, help="child processes per tree, alternating")
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=10, help="measured next+answer pairs per rater")
    parser.add_argument("--profile", action="store_true", help="cProfile this tree's requests instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args.raters, args.pairs, args.profile)))
        return
    base_url = os.environ.get("DATABASE_URL", "")
    backend = "PostgreSQL" if base_url.startswith("postgres") else "SQLite"
    limits = "Redis" if os.environ.get("CACHE_URL", "").startswith("redis") else "database"
    if args.profile:
        run_child(REPO, "profile", args, base_url)
        return
    trees = {"before": export_tree(args.baseline), "after": export_tree(args.after) if args.after else REPO}
    results = {"before": [], "after": []}
    for _ in range(args.rounds):
        for label, tree in trees.items():
            results[label].append(run_child(tree, label, args, base_url))
    print(f"== Rater CPU per request, real WSGI stack, {backend}, limits in {limits} "
          f"(before = {args.baseline}, after = {args.after or 'this working tree'}; median of {args.rounds} processes, "
          f"n={results['after'][0]['n']} each; load average {os.getloadavg()[0]:.1f}) ==")
    names = ("trivial", "next", "answer", "next (reread)", "answer (reread)")
    medians = {label: {name: statistics.median(r[name] for r in runs) for name in names}
               for label, runs in results.items()}
    for name in names:
        before, after = medians["before"][name], medians["after"][name]
        print(f"{name:>15}: before {before:6.3f} ms CPU ({before / medians['before']['trivial']:4.1f} x trivial)   "
              f"after {after:6.3f} ms CPU ({after / medians['after']['trivial']:4.1f} x trivial)   "
              f"after/before {after / before:.2f}")


if __name__ == "__main__":
    main()
