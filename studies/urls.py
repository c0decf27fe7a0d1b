"""Rater pages: the study link, the rater's own page, completion, and stimulus media."""
from django.urls import path, register_converter

from . import views


class OpaqueKeyConverter:
    """The random keys in rater URLs (secrets.token_urlsafe). Anything else (a NUL byte, which
    PostgreSQL cannot compare, or a 10 kB path) is a 404 at the router, before any query."""

    regex = "[A-Za-z0-9_-]{1,64}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(OpaqueKeyConverter, "key")

app_name = "studies"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("s/<key:study_key>/", views.entry, name="entry"),
    path("r/<key:token>/", views.rater, name="rater"),
    path("r/<key:token>/done/", views.done, name="done"),
    path("r/<key:token>/media/<key:trial_key>/<str:slot>", views.media, name="media"),
]
