from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .login_throttle import admin_login

urlpatterns = [
    path("admin/login/", admin_login),  # shadows the admin's own login view: failed logins are throttled
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves the docs' start-up script from this URL (?script), not inline: the
    # Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("jobs/", include("jobs.urls")),
    path("gan/", include("gan.urls")),
    path("api/studies/", include("studies.api.urls")),
    path("api/gan/", include("gan.api.urls")),
    path("", include("studies.urls")),
]
