"""The architecture's rules: gan/ml is plain PyTorch (no Django), and importing the site touches no GPU."""
import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gan_ml_never_imports_django():
    offenders = []
    for path in (REPO / "gan" / "ml").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                          if n.split(".")[0] in {"django", "rest_framework", "celery", "studies"}]
    assert offenders == []


def test_importing_the_site_and_every_job_kind_does_not_initialise_cuda():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'evalsite.settings'); "
        "django.setup(); import gan.admin, gan.job_kinds, gan.tasks, studies.admin; "
        "from gan.jobs import KINDS; import torch; "
        "print(sorted(KINDS)); print('cuda initialised:', torch.cuda.is_initialized())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "cuda initialised: False" in out
    assert "'train'" in out and "'generate'" in out and "'selfcheck'" in out
