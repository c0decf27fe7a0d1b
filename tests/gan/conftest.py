import pytest

from tests.celery_worker import Worker, purge_queues


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
