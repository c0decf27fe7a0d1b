"""Rater pages: the study link, the rater's own page, completion, and stimulus media."""
from django.urls import path

from . import views

app_name = "studies"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("s/<str:study_key>/", views.entry, name="entry"),
    path("r/<str:token>/", views.rater, name="rater"),
    path("r/<str:token>/done/", views.done, name="done"),
    path("r/<str:token>/media/<str:trial_key>/<str:slot>", views.media, name="media"),
]
