"""`python -m tests.fault_worker -A evalsite worker ...`: a Celery worker with the fault-injection
hooks of tests/fault_kinds.py installed first (from the TEST_FAULTS environment variable, JSON)."""
import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    django.setup()
    from tests import fault_kinds

    fault_kinds.install(json.loads(os.environ.get("TEST_FAULTS") or "{}"))
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
