"""Fixtures shared by the whole suite."""
import pytest

from tests.celery_worker import Worker, purge_queues


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if not _cuda_available():
        skip = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
    _skip_other_database_backends(items)


def _skip_other_database_backends(items):
    """@pytest.mark.db_backend("postgresql", reason=...): the test checks behaviour only that
    backend has (row locks, say); on the others it is skipped, saying which backend and why."""
    from django.db import connection

    vendor = connection.vendor  # from the settings; opens no connection
    for item in items:
        marker = item.get_closest_marker("db_backend")
        if marker is None:
            continue
        wanted = marker.args[0]
        if wanted != vendor:
            why = marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"needs the {wanted} database backend, this run uses "
                                                    f"{vendor}" + (f": {why}" if why else "")))


@pytest.fixture(autouse=True)
def _no_heartbeat_inside_a_test_transaction(request, settings):
    """A job run in-process by a test wrapped in a transaction (plain django_db): the heartbeat
    thread has its own connection, which on PostgreSQL cannot see the test's uncommitted Job row, so
    its first beat (after JOB_HEARTBEAT_INTERVAL) would find the row "no longer this attempt's" and
    stop the job. On a loaded machine a 5 s import reaches that beat. Such tests get no beat;
    tests with committed rows (transaction=True, live servers, real workers) keep the real one, and
    a test that sets the interval itself still wins (it runs after this fixture)."""
    marker = request.node.get_closest_marker("django_db")
    committed = (("transactional_db" in request.fixturenames) or ("live_server" in request.fixturenames)
                 or (marker is not None and marker.kwargs.get("transaction", False)))
    if marker is not None and not committed:
        settings.JOB_HEARTBEAT_INTERVAL = 3600.0


@pytest.fixture
def media_root(settings, tmp_path):
    """Media files of one test go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.org", "staff-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("plain", "plain@example.org", "plain-pass-123")


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery workers (solo pool) on the configured broker and the test database."""
    purge_queues()
    workers = []

    def start(name="w1", **kwargs):
        worker = Worker(name, tmp_path, **kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    purge_queues()
