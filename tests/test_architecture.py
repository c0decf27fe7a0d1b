"""The architecture's rules, checked from the code itself:

* the four apps import one way: demo -> studies -> gan -> jobs (a lower app never imports a higher);
* gan/ml is plain PyTorch / numpy: no Django, no Celery, nothing of the apps;
* no import cycles between modules, counting imports inside functions (a lazy import that hides a
  cycle is still a cycle);
* the web tier never loads PyTorch: django.setup(), a rater's pages and the admin index leave
  'torch' out of sys.modules (job kinds load it when they run), and nothing touches CUDA at import;
* every job body is in its app's kinds/ package;
* no project file is over 400 lines (one concept per file);
* tests mirror the packages of services and job bodies: each module of gan/services, gan/kinds and
  studies/services has its own tests/<package>/test_<module>.py;
* rows are written only in services/, models/, kinds/ (job bodies), migrations, management commands,
  the demo app and the job engine: never in a view, the API, the admin, a selector or a report.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("jobs", "gan", "studies", "demo")  # each may import only the ones before it (and itself)
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in LAYERS for p in (REPO / package).rglob("*.py")
            if "migrations" not in p.parts}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, top-level or not, relative ones resolved.

    `from package import submodule` counts as importing the submodule, anything else in the
    package's namespace as importing the package."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                out.append((candidate if candidate in known else module, node.lineno))
    return out


def _graph():
    modules = _modules()
    known = set(modules)
    edges = {name: _imports(name, path, known) for name, path in modules.items()}
    return modules, edges


def test_the_apps_import_one_way():
    _, edges = _graph()
    wrong = []
    for name, imports in edges.items():
        own = name.split(".")[0]
        for target, line in imports:
            top = target.split(".")[0]
            if top in RANK and RANK[top] > RANK[own]:
                wrong.append(f"{name}:{line} imports {target} ({own} may not import {top})")
    assert wrong == []


def test_gan_ml_imports_no_django_and_nothing_of_the_apps():
    _, edges = _graph()
    forbidden = {"django", "rest_framework", "celery", "drf_spectacular", "evalsite", *LAYERS}
    wrong = [f"{name}:{line} imports {target}" for name, imports in edges.items()
             if name.startswith("gan.ml") for target, line in imports
             if target.split(".")[0] in forbidden and not target.startswith("gan.ml")]
    assert wrong == []


def test_no_import_cycles_between_modules():
    modules, edges = _graph()
    graph = {name: sorted({t for t, _ in imports if t in modules and t != name}) for name, imports in edges.items()}
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_rule_checker_sees_a_lazy_cycle_and_a_wrong_way_import(tmp_path, monkeypatch):
    """The checks above are only worth something if they can fail."""
    fake = tmp_path / "repo"
    (fake / "jobs").mkdir(parents=True)
    (fake / "gan").mkdir()
    (fake / "jobs" / "__init__.py").write_text("")
    (fake / "jobs" / "a.py").write_text("def f():\n    from . import b\n")
    (fake / "jobs" / "b.py").write_text("from .a import f\nfrom gan import views\n")
    (fake / "gan" / "__init__.py").write_text("")
    (fake / "gan" / "views.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "REPO", fake)
    with pytest.raises(AssertionError, match=r"jobs.a', 'jobs.b"):
        test_no_import_cycles_between_modules()
    with pytest.raises(AssertionError, match="jobs.b:2 imports gan.views"):
        test_the_apps_import_one_way()


WEB_WORKER = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
import django
django.setup()
after_setup = "torch" in sys.modules
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from evalsite.wsgi import application  # noqa: F401  (what gunicorn loads)
key = sys.argv[1]
client = Client()
import re
entry = client.get(f"/s/{key}/")
statuses = [entry.status_code]
nonce = re.search(rb'name="entry_nonce" value="([^"]+)"', entry.content).group(1).decode()  # the page's Start
page = client.post(f"/s/{key}/", {"consent": "yes", "entry_nonce": nonce}, follow=True)
statuses.append(page.status_code)
token = page.redirect_chain[-1][0].rstrip("/").rsplit("/", 1)[-1]  # /r/<token>/
statuses.append(client.get(reverse("studies-api:rater-state", args=[token])).status_code)
after_rater = "torch" in sys.modules
staff = Client()
staff.force_login(get_user_model().objects.get(username="staff"))
statuses.append(staff.get("/admin/").status_code)
statuses.append(staff.get("/admin/jobs/job/").status_code)
after_admin = "torch" in sys.modules
# Try it: the page, an upload (checked with libsndfile), and a request for images (a queued job)
import io, numpy, soundfile
wav = io.BytesIO()
soundfile.write(wav, (0.3 * numpy.sin(numpy.arange(8000) / 5)).astype("float32"), 16000, format="WAV")
wav.seek(0)
wav.name = "tone.wav"
statuses.append(staff.get("/gan/try/").status_code)
upload = staff.post("/gan/try/sounds/", {"sound": wav})
statuses.append(upload.status_code)
statuses.append(staff.post("/gan/try/images/", {"sound": upload.json()["sound"]["id"],
                                                "checkpoint": sys.argv[2]}).status_code)
print(json.dumps({"after_setup": after_setup, "after_rater": after_rater, "after_admin": after_admin,
                  "after_try": "torch" in sys.modules, "statuses": statuses}))
"""


@pytest.mark.django_db(transaction=True)
def test_the_web_tier_never_loads_torch(media_root, staff_user):
    """A fresh process like a gunicorn worker: set up Django, serve a rater (study link, consent,
    rater page, the rater API) and a staff member (admin index, jobs list, the Try it page, a sound
    upload and an image request); torch stays out."""
    import os

    from studies.services import build_rating_study, open_study
    from tests.celery_worker import test_database_url
    from tests.studies.conftest import make_world

    checkpoints = make_world()["checkpoints"]
    study = build_rating_study("torch-free", checkpoints)
    open_study(study)
    (media_root / checkpoints[0].path).parent.mkdir(parents=True, exist_ok=True)
    (media_root / checkpoints[0].path).write_bytes(b"weights")  # the Try it page checks the file is there
    env = {**os.environ, "DATABASE_URL": test_database_url(), "MEDIA_ROOT": str(media_root)}
    out = subprocess.run([sys.executable, "-c", WEB_WORKER, study.public_key, str(checkpoints[0].pk)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 200, 200, 200, 200, 200, 201, 202]
    assert result == {**result, "after_setup": False, "after_rater": False, "after_admin": False, "after_try": False}


def test_importing_every_job_kind_does_not_initialise_cuda():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'evalsite.settings'); "
        "django.setup(); import gan.admin, jobs.tasks, studies.admin; "
        "from jobs.registry import KINDS; [kind.function() for kind in KINDS.values()]; import torch; "
        "print(sorted(KINDS)); print('cuda initialised:', torch.cuda.is_initialized())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "cuda initialised: False" in out
    assert "'train'" in out and "'generate'" in out and "'selfcheck'" in out


def test_every_job_body_lives_in_its_apps_kinds_package():
    """A kind registered with a body path ("package.module:function") names a module of the app's
    kinds/ package: services hold the writes a body calls, never a body itself (the engine's own
    selfcheck, registered with the function, is the engine's)."""
    bodies = []
    for package in LAYERS[1:]:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                name = getattr(node.func, "id", getattr(node.func, "attr", "")) if isinstance(node, ast.Call) else ""
                if name == "register_kind":
                    run = next((k.value for k in node.keywords if k.arg == "run"), None)
                    assert isinstance(run, ast.Constant), f"{path}:{node.lineno}: register a body by its path"
                    bodies.append((package, run.value, f"{path.relative_to(REPO)}:{node.lineno}"))
    assert {"gan.kinds.train:run_training", "gan.kinds.import_videos:run_video_import",
            "gan.kinds.import_manifest:run_manifest_import"} <= {run for _, run, _ in bodies}  # it sees them
    misplaced = [where for package, run, where in bodies if not run.startswith(f"{package}.kinds.")]
    assert not misplaced, misplaced


MAX_LINES = 400
# Folders that are not the project's own code: the virtualenv, the embedded state, generated migrations.
NOT_OURS = {".venv", "var", ".git", "migrations", "node_modules", "__pycache__"}


def _project_files():
    return sorted(p for p in REPO.rglob("*.py") if not NOT_OURS & set(p.relative_to(REPO).parts))


# Over the limit for now, each with why: remove an entry when its file is split.
LONG_FOR_NOW: set[str] = set()


def test_no_project_file_is_over_400_lines():
    """One concept per file: a module past 400 lines holds more than one (split it along the seam
    between them, not at a line count)."""
    long = {str(p.relative_to(REPO)): n for p in _project_files()
            if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(REPO)) not in LONG_FOR_NOW}
    assert long == {}


# Packages whose every module has a test module of its own, at the mirrored path: the services and the
# job bodies, where the behaviour is (a module's tests are where a reader looks for them first).
MIRRORED = ("gan/services", "gan/kinds", "studies/services")


def _modules_without_mirrored_tests() -> list[str]:
    return sorted(f"{package}/{module.name} has no tests/{package}/test_{module.name}"
                  for package in MIRRORED for module in (REPO / package).glob("*.py")
                  if module.name != "__init__.py" and not (REPO / "tests" / package / f"test_{module.name}").is_file())


def test_every_service_and_job_body_module_has_its_mirrored_test_module():
    missing = _modules_without_mirrored_tests()
    assert not missing, "tests mirror the packages; add (or move the module's tests into):\n" + "\n".join(missing)


def test_the_mirror_rule_sees_a_module_without_tests(tmp_path, monkeypatch):
    """The rule above is only worth something if it can fail: a new service without its test module
    is named; __init__ and a tested module are not."""
    fake = tmp_path / "repo"
    for folder in (*MIRRORED, "tests/gan/services"):
        (fake / folder).mkdir(parents=True)
    for name in ("gan/services/__init__.py", "gan/services/tested.py", "gan/services/new.py",
                 "tests/gan/services/test_tested.py", "tests/gan/services/test_new_helpers.py"):
        (fake / name).write_text("")
    monkeypatch.setattr(sys.modules[__name__], "REPO", fake)
    assert _modules_without_mirrored_tests() == ["gan/services/new.py has no tests/gan/services/test_new.py"]


# What writes rows through the ORM. save()/delete() with no positional argument is a model instance's
# (torch.save(obj, f), image.save(f), cache.delete(key) take one); create()/update() with keywords only
# is a manager's or a queryset's (dict.update(other) takes a positional); the get-or-create family and
# the bulk writes are always the ORM's. Anything called on a queryset chain counts whatever its arguments.
ORM_WRITES = {"save", "delete", "create", "update", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
ALWAYS_ORM = {"bulk_create", "bulk_update", "get_or_create", "update_or_create"}
QUERYSET_STEPS = {"objects", "filter", "exclude", "all", "select_for_update", "select_related", "prefetch_related",
                  "only", "defer", "order_by", "annotate", "using", "distinct"}
# Where rows may be written: an app's services/ (writes), models/ (the tables), kinds/ (a job body
# writes its own job's rows under the job's fence, e.g. a training run's checkpoints, through models
# and services alike: the engine's fence, not a layer, is what keeps them safe), migrations,
# management commands (thin wrappers, e.g. ensure_admin), the demo app (site-level setup). gan/ml
# has no Django at all (checked above). Everything else (views, api/, admin/, selectors/, reports/,
# tasks) reads or calls a service.
WRITE_LAYERS = {"services", "models", "kinds", "migrations", "management"}
WRITE_FILES = {
    # The job engine is the jobs app's write layer (it has no services/): claiming, heartbeats,
    # progress, fences, reaping, a parent running its children.
    "jobs/engine.py", "jobs/context.py", "jobs/heartbeat.py", "jobs/reaper.py", "jobs/runner.py",
    # The abuse limits' counters (studies.RateCounter) are counted where a request is limited, before
    # any view runs, and pruned by the periodic job: the limiter's own store, not a study write.
    "studies/limits.py",
}


def _receiver_chain(node) -> list[str]:
    """The names a call's receiver is built from: Model.objects.filter(...).update -> objects, filter, Model."""
    names, node = [], node.func.value
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return names + [node.id]
        else:
            return names


def _orm_writes(tree) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or getattr(node.func, "attr", None) not in ORM_WRITES:
            continue
        name, positional = node.func.attr, bool(node.args)
        on_queryset = bool(QUERYSET_STEPS & set(_receiver_chain(node)))
        if (name in ALWAYS_ORM or on_queryset or (name in ("save", "delete") and not positional)
                or (name in ("create", "update") and not positional and node.keywords)):
            found.append((node.lineno, name))
    return found


def _writes_outside_their_layers() -> list[str]:
    wrong = []
    for package in LAYERS:
        for path in (REPO / package).rglob("*.py"):
            relative = path.relative_to(REPO)
            allowed = (WRITE_LAYERS & set(relative.parts) or str(relative) in WRITE_FILES
                       or relative.parts[:2] == ("gan", "ml")  # no Django there at all
                       or package == "demo")  # the site level: demo datasets and their setup write by design
            if not allowed:
                tree = ast.parse(path.read_text(), str(path))
                wrong += [f"{relative}:{line} .{name}(" for line, name in _orm_writes(tree)]
    return sorted(wrong)


def test_rows_are_written_only_by_services_models_and_job_bodies():
    assert _writes_outside_their_layers() == []


def test_the_write_rule_sees_a_write_in_a_view_or_a_selector(tmp_path, monkeypatch):
    """The rule above is only worth something if it can fail: a write added to a view, an admin or
    a selector is seen, the same code in a service is not, and look-alikes are not writes."""
    fake = tmp_path / "repo"
    for folder in ("studies/selectors", "studies/services", "studies/admin"):
        (fake / folder).mkdir(parents=True)
    (fake / "studies" / "views.py").write_text(
        "def view(request):\n    Study.objects.filter(pk=1).update(state='open')\n"
        "    request.session.update({'a': 1})\n    torch.save(model, path)\n")
    (fake / "studies" / "selectors" / "reads.py").write_text("def read(study):\n    study.save()\n    return study\n")
    (fake / "studies" / "admin" / "study.py").write_text("def save_model(obj):\n    obj.trials.create(position=1)\n")
    (fake / "studies" / "services" / "writes.py").write_text("def write(study):\n    study.save()\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", fake)
    assert _writes_outside_their_layers() == [
        "studies/admin/study.py:2 .create(", "studies/selectors/reads.py:2 .save(", "studies/views.py:2 .update("]
