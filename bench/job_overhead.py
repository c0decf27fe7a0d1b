"""Benchmark: what the job engine costs on top of bare Celery, per broker, measured in one run.

For each broker (Redis, and the filesystem transport of the embedded default) it starts one real
worker and measures
  * bare round trip: send the bare `jobs.ping` task and wait for its result;
  * job start latency: create_job() until the Job row says RUNNING (what a researcher waits for);
  * progress update: one un-throttled ctx.progress() write (the job layer's per-update cost), and a
    throttled call (what a training loop pays per iteration);
and prints each as a ratio against the bare round trip of the same broker.

Usage: .venv/bin/python bench/job_overhead.py [--rounds 30]
Database: DATABASE_URL if set (the bench uses a scratch database beside it), else a temporary SQLite.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def child(rounds: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    django.setup()
    from django.core.management import call_command

    from evalsite.celery import app
    from jobs.context import JobContext
    from jobs.engine import claim_job, create_job
    from jobs.models import Job, JobStatus

    call_command("migrate", verbosity=0)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    celery = str(Path(sys.executable).with_name("celery"))
    log = open(Path(os.environ["VAR_DIR"]) / "worker.log", "w")
    worker = subprocess.Popen([celery, "-A", "evalsite", "worker", "-Q", "cpu,gpu", "-P", "solo",
                               "--without-mingle", "--without-gossip", "-n", "bench@%h", "-l", "INFO"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in (Path(os.environ["VAR_DIR"]) / "worker.log").read_text():
            if time.monotonic() > deadline:
                raise SystemExit("worker did not start")
            time.sleep(0.1)
        bare, start = [], []
        for i in range(rounds + 2):
            # Each measurement starts from an idle worker (a worker that has just finished a task
            # polls again at once; an idle one waits for the broker), so both see the same path.
            time.sleep(0.5)
            t0 = time.perf_counter()
            app.send_task("jobs.ping", queue="cpu", ignore_result=False).get(timeout=30, interval=0.002)
            bare.append(time.perf_counter() - t0)
            time.sleep(0.5)
            t0 = time.perf_counter()
            job = create_job("selfcheck", {"steps": 1, "step_seconds": 0})
            while not Job.objects.filter(pk=job.pk).exclude(status=JobStatus.QUEUED).exists():
                time.sleep(0.002)
            start.append(time.perf_counter() - t0)
        bare, start = bare[2:], start[2:]  # the first rounds warm connections up
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
    job = claim_job(create_job("selfcheck", {"steps": 1}).pk, "bench")
    ctx = JobContext(job)
    n = 200
    t0 = time.perf_counter()
    for i in range(n):
        ctx.progress(i, n, metrics={"loss": float(i)}, force=True)
    write = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(100_000):
        ctx.progress(i, 100_000)
    throttled = (time.perf_counter() - t0) / 100_000
    return {"bare_round_trip_s": statistics.median(bare), "job_start_s": statistics.median(start),
            "progress_write_s": write, "progress_throttled_s": throttled}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rounds)))
        return
    brokers = {"redis": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
               "filesystem": "filesystem://"}
    print(f"{'broker':<11}{'bare ping':>12}{'job start':>12}{'ratio':>8}{'progress write':>16}"
          f"{'ratio':>8}{'throttled call':>16}")
    for name, url in brokers.items():
        with tempfile.TemporaryDirectory() as var:
            env = dict(os.environ, VAR_DIR=var, CELERY_BROKER_URL=url, JOB_PROGRESS_MIN_INTERVAL="0.5")
            env["CELERY_RESULT_BACKEND"] = url if name == "redis" else f"file://{var}/results"
            os.makedirs(f"{var}/results", exist_ok=True)
            if "DATABASE_URL" not in os.environ:
                env["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
            out = subprocess.run([sys.executable, __file__, "--child", "--rounds", str(args.rounds)],
                                 env=env, capture_output=True, text=True)
            if out.returncode:
                print(f"{name}: failed\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            b = r["bare_round_trip_s"]
            print(f"{name:<11}{b * 1e3:>10.1f}ms{r['job_start_s'] * 1e3:>10.1f}ms"
                  f"{r['job_start_s'] / b:>8.2f}{r['progress_write_s'] * 1e3:>14.2f}ms"
                  f"{r['progress_write_s'] / b:>8.3f}{r['progress_throttled_s'] * 1e6:>14.2f}us")


if __name__ == "__main__":
    main()
