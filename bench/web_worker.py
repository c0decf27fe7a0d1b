"""Benchmark: what a web worker costs to start, now that the web tier no longer imports PyTorch.

A web worker here is a fresh process that does what a gunicorn worker does before and for its first
request: django.setup(), import evalsite.wsgi's application, serve one request (the admin's login
page through the whole middleware stack and a template; no database needed). Measured per process:
  * start: wall time from spawning the interpreter to the first response (what a restart costs);
  * resident memory (VmRSS) after the response.
The baseline is the same process with `import torch` first, i.e. what every web worker paid while
django.setup() imported torch through the job kinds. Each variant runs --runs times, alternating,
in fresh processes; medians are printed with the ratio against the baseline of the same run.
Targets (issue 14): under 150 MB and under 1 s.

Usage: .venv/bin/python bench/web_worker.py [--runs 5] [--why]
  --why also prints the heaviest packages the web worker imports and which module of ours pulls
  each in (from python -X importtime).
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
PATH = "/admin/login/"


def child(with_torch: bool) -> dict:
    sys.path.insert(0, str(REPO))
    if with_torch:
        import torch  # noqa: F401  (the old web tier: django.setup() pulled it in)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    import django

    django.setup()
    from django.test import Client

    from evalsite.wsgi import application  # noqa: F401  (what gunicorn loads)

    status = Client().get(PATH).status_code
    rss_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
    return {"status": status, "rss_mb": rss_kb / 1024, "torch": "torch" in sys.modules,
            "modules": len(sys.modules)}


def run_once(with_torch: bool, env: dict) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", "torch" if with_torch else "web"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] != 200:
        raise SystemExit(f"{PATH} answered {result['status']}")
    return dict(result, seconds=seconds)


FIRST_PARTY = ("evalsite", "jobs", "gan", "studies", "demo")


def heaviest_imports(env: dict, top: int = 8) -> list[str]:
    """Where the web worker's import time goes: each third-party import made directly by one of our
    modules, with its cumulative time (everything it pulled in), heaviest first."""
    out = subprocess.run([sys.executable, "-X", "importtime", __file__, "--child", "web"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    rows = []  # (cumulative us, depth, module); importtime prints a module after what it imported
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|", 2)
            rows.append((int(cumulative), len(name) - len(name.lstrip()), name.strip()))
    found, stack = [], []  # walking backwards, a module's importer is the nearest shallower row
    for cumulative, depth, name in reversed(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        importer = stack[-1][1] if stack else ""
        if importer.split(".")[0] in FIRST_PARTY and name.split(".")[0] not in FIRST_PARTY:
            found.append((cumulative, f"{cumulative / 1e6:6.2f} s  {name:<28} imported by {importer}"))
        stack.append((depth, name))
    return [text for _, text in sorted(found, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--why", action="store_true", help="list the heaviest imports of the web worker")
    parser.add_argument("--child", choices=["web", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child == "torch")))
        return
    with tempfile.TemporaryDirectory() as var:
        # A scratch VAR_DIR: the embedded defaults write their SQLite file and secret key there.
        env = dict(os.environ, VAR_DIR=var)
        run_once(False, env)  # warm the file cache and .pyc files; not counted
        run_once(True, env)
        runs = {"web": [], "torch": []}
        for _ in range(args.runs):
            runs["web"].append(run_once(False, env))
            runs["torch"].append(run_once(True, env))
        why = heaviest_imports(env) if args.why else []
    assert not any(r["torch"] for r in runs["web"]), "the web worker imported torch"
    median = {name: {key: statistics.median(r[key] for r in rows) for key in ("seconds", "rss_mb", "modules")}
              for name, rows in runs.items()}
    web, base = median["web"], median["torch"]
    print(f"web worker: django.setup() + evalsite.wsgi + GET {PATH}; median of {args.runs} fresh processes")
    print(f"{'':<26}{'start (s)':>10}{'RSS (MB)':>10}{'modules':>9}")
    print(f"{'now (no torch)':<26}{web['seconds']:>10.2f}{web['rss_mb']:>10.0f}{web['modules']:>9.0f}")
    print(f"{'baseline (torch imported)':<26}{base['seconds']:>10.2f}{base['rss_mb']:>10.0f}{base['modules']:>9.0f}")
    print(f"{'ratio now / baseline':<26}{web['seconds'] / base['seconds']:>10.2f}{web['rss_mb'] / base['rss_mb']:>10.2f}")
    print(f"targets: start < 1 s: {'met' if web['seconds'] < 1 else 'NOT met'}; "
          f"RSS < 150 MB: {'met' if web['rss_mb'] < 150 else 'NOT met'}")
    if why:
        print("heaviest imports of the web worker (cumulative import time, one process):")
        print("\n".join(f"  {line}" for line in why))


if __name__ == "__main__":
    main()
