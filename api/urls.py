"""The API's addresses, under /api/v1/ (config.urls).

The API's own authentication and permission classes decide who reads and writes what, so its
views are exempt from LoginRequiredMiddleware (`login_not_required`), as a JSON client is
answered 401/403 in JSON rather than sent to the login page.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import write_views

app_name = "api"
urlpatterns = [
    # The OpenAPI 3 schema, and its browsable page (Swagger UI from drf-spectacular-sidecar).
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "docs/",
        login_not_required(SpectacularSwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
    # The secretariat's write: a status update, against the commitment's version it read.
    path(
        "commitments/<slug:slug>/updates/",
        login_not_required(write_views.StatusUpdateCreate.as_view()),
        name="status_update_create",
    ),
]
