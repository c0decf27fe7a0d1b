from django.urls import path

from . import views

app_name = "jobs"
urlpatterns = [
    path("progress/", views.job_progress, name="job-progress"),
]
