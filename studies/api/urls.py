"""API routes, mounted at api/studies/: rater/<token>/... (token only) and staff study endpoints."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from .. import urls as _rater_urls  # noqa: F401  (registers the <key:...> converter)
from . import rater, staff

app_name = "studies-api"
router = SimpleRouter()
router.register("", staff.StudyViewSet, basename="study")

urlpatterns = [
    path("rater/<key:token>/", rater.RaterStateView.as_view(), name="rater-state"),
    path("rater/<key:token>/next/", rater.RaterNextView.as_view(), name="rater-next"),
    path("rater/<key:token>/session/", rater.RaterSessionView.as_view(), name="rater-session"),
    path("rater/<key:token>/answers/", rater.RaterAnswerView.as_view(), name="rater-answers"),
    *router.urls,
]
