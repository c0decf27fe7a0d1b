"""Settings come from the environment; the embedded defaults work with no services at all."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))


def clean_env(var_dir: Path, **extra) -> dict:
    """An environment with none of the deployment variables set (the embedded defaults)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS",
                        "MEDIA_ROOT", "WEIGHTS_DIR", "STATIC_ROOT"} and not k.startswith("SECURE_")}
    env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def manage(env, *args, check=True, timeout=120):
    return subprocess.run([PY, "manage.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=check)


def test_check_deploy_is_clean_with_the_production_variables(tmp_path):
    env = clean_env(tmp_path, SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-9f8e7d6c5b4a",
                    DEBUG="false", ALLOWED_HOSTS="eval.example.org", SECURE_SSL_REDIRECT="true",
                    SESSION_COOKIE_SECURE="true", CSRF_COOKIE_SECURE="true",
                    SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
                    SECURE_HSTS_PRELOAD="true")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_insecure_defaults(tmp_path):
    result = manage(clean_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr + result.stdout


def test_settings_read_database_and_broker_from_the_environment(tmp_path):
    code = ("from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(d['ENGINE'], d['NAME'], s.CELERY_BROKER_URL, s.MEDIA_ROOT)")
    env = clean_env(tmp_path, DATABASE_URL="postgres://u@db.example:5433/evaldb",
                    CELERY_BROKER_URL="redis://cache.example:6379/2", MEDIA_ROOT=str(tmp_path / "m"))
    out = manage(env, "shell", "-c", code).stdout.split()
    assert out[-4:] == ["evalsite.postgres_backend", "evaldb", "redis://cache.example:6379/2",
                        str(tmp_path / "m")]


def test_empty_database_and_broker_variables_mean_the_embedded_defaults(tmp_path):
    """`DATABASE_URL= make demo` (set but empty) is a common way to say "unset"; it used to crash."""
    code = ("from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(d['ENGINE'], d['NAME'], s.CELERY_BROKER_URL)")
    out = manage(clean_env(tmp_path, DATABASE_URL="", CELERY_BROKER_URL=""), "shell", "-c", code).stdout.split()
    assert out[-3:] == ["django.db.backends.sqlite3", str(tmp_path / "db.sqlite3"), "filesystem://"]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_embedded_defaults_sqlite_wal_and_filesystem_broker_run_a_job_end_to_end(tmp_path):
    """No DATABASE_URL, no CELERY_BROKER_URL: SQLite in WAL mode and a real worker on the filesystem
    broker run a job, launched from the command line, to success."""
    env = clean_env(tmp_path, JOB_PROGRESS_MIN_INTERVAL="0.1")
    manage(env, "migrate", "--noinput", "-v0")
    mode = manage(env, "shell", "-c",
                  "from django.db import connection; c = connection.cursor(); "
                  "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])").stdout.split()[-1]
    assert mode == "wal"
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([CELERY, "-A", "evalsite", "worker", "-Q", "cpu,gpu", "-P", "solo",
                               "-n", "embedded@%h", "--without-mingle", "--without-gossip"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        result = manage(env, "launch_job", "selfcheck", "--params",
                        '{"steps": 8, "step_seconds": 0.05}', "--wait", timeout=180)
        assert "succeeded" in result.stdout, result.stdout + result.stderr
        assert list((tmp_path / "broker").glob("*.msg")) == []  # the message was consumed
        stats = manage(env, "shell", "-c",
                       "from jobs.models import Job; j = Job.objects.get(); "
                       "print(j.status, j.step, j.total, j.attempts)").stdout.split()[-4:]
        assert stats == ["succeeded", "8", "8", "1"]
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()


def test_launch_job_command_reports_bad_input_clearly(tmp_path):
    env = clean_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v0")
    bad_kind = manage(env, "launch_job", "nope", check=False)
    assert bad_kind.returncode == 1 and "unknown job kind 'nope'" in bad_kind.stderr
    bad_json = manage(env, "launch_job", "selfcheck", "--params", "{oops", check=False)
    assert bad_json.returncode == 1 and "not valid JSON" in bad_json.stderr


def test_ensure_admin_creates_once_and_prints_credentials(tmp_path):
    env = clean_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v0")
    first = manage(env, "ensure_admin").stdout
    second = manage(env, "ensure_admin").stdout
    password = (tmp_path / "admin_password").read_text().strip()
    assert f"Created: user 'admin', password '{password}'" in first
    assert f"Admin account exists: user 'admin', password '{password}'" in second
    check = manage(env, "shell", "-c",
                   f"from django.contrib.auth import authenticate; "
                   f"print(bool(authenticate(username='admin', password='{password}')))")
    assert check.stdout.split()[-1] == "True"
