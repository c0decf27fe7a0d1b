"""API routes, mounted at api/gan/ (staff only, the project's default permission)."""
from rest_framework.routers import SimpleRouter

from . import ingest, views

app_name = "gan-api"
router = SimpleRouter()
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("suites", views.SuiteViewSet, basename="suite")
router.register("dataset-reports", views.DatasetReportViewSet, basename="dataset-report")
router.register("datasets", ingest.DatasetIngestViewSet, basename="dataset")
urlpatterns = router.urls
