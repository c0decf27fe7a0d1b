"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright (never
`playwright install`), without the background traffic a closed network refuses."""
from contextlib import contextmanager

import pytest
from django.db import connections

BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]


@contextmanager
def headless_chromium(monkeypatch, extra_args=()):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls stay
    # synchronous and safe, so Django's async guard is lifted for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BASE_ARGS + list(extra_args))
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop ran opened their own connection (Django keys
            # connections by context); close it, or PostgreSQL refuses to drop the test database.
            connections.close_all()
