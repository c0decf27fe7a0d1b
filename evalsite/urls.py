from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("jobs/", include("jobs.urls")),
    path("gan/", include("gan.urls")),
    path("api/studies/", include("studies.api.urls")),
    path("api/gan/", include("gan.api.urls")),
    path("", include("studies.urls")),
]
