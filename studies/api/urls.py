"""API routes, mounted at api/studies/: rater/<token>/... (token only) and staff study endpoints."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import rater, staff

app_name = "studies-api"
router = SimpleRouter()
router.register("", staff.StudyViewSet, basename="study")

urlpatterns = [
    path("rater/<str:token>/", rater.RaterStateView.as_view(), name="rater-state"),
    path("rater/<str:token>/next/", rater.RaterNextView.as_view(), name="rater-next"),
    path("rater/<str:token>/answers/", rater.RaterAnswerView.as_view(), name="rater-answers"),
    *router.urls,
]
