"""The API's addresses, under /api/v1/ (config.urls).

The API's own authentication and permission classes decide who reads and writes what, so its
views are exempt from LoginRequiredMiddleware (`login_not_required`), as a JSON client is
answered 401/403 in JSON rather than sent to the login page.
"""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.decorators.cache import never_cache
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views, write_views

app_name = "api"


def api_view(view_class, **kwargs):
    return login_not_required(view_class.as_view(**kwargs))


def swagger_ui(view):
    """Swagger UI's stylesheet draws its icons (copy, expand, the arrows) as data: SVG images:
    this page alone may load images from data: URIs; every other page keeps img-src 'self'
    (tests/api/test_permissions.py checks both). Never cached: a 304 is made afresh by
    ConditionalGetMiddleware, without this page's policy, and a browser could keep the
    strict one it carries."""
    return csp_update({"img-src": ["data:"]})(never_cache(view))


urlpatterns = [
    # The OpenAPI 3 schema, and its browsable page (Swagger UI from drf-spectacular-sidecar;
    # the split view serves its start-up script as a file of its own, as the CSP wants).
    path("schema/", api_view(SpectacularAPIView), name="schema"),
    path(
        "docs/",
        swagger_ui(api_view(SpectacularSwaggerSplitView, url_name="api:schema")),
        name="docs",
    ),
    # The record, read (api.views).
    path("documents/", api_view(views.DocumentList), name="document_list"),
    path("documents/<slug:short_name>/", api_view(views.DocumentDetail), name="document_detail"),
    path("paragraphs/", api_view(views.ParagraphList), name="paragraph_list"),
    path("actors/", api_view(views.ActorList), name="actor_list"),
    path("actors/<slug:slug>/", api_view(views.ActorDetail), name="actor_detail"),
    path("themes/", api_view(views.ThemeList), name="theme_list"),
    path("commitments/", api_view(views.CommitmentList), name="commitment_list"),
    path("commitments/<slug:slug>/", api_view(views.CommitmentDetail), name="commitment_detail"),
    # A commitment's updates: read by GET; the secretariat's POST adds one, against the
    # commitment's version it read (api.write_views).
    path(
        "commitments/<slug:slug>/updates/",
        api_view(write_views.CommitmentUpdates),
        name="commitment_updates",
    ),
    path(
        "commitments/<slug:slug>/milestones/",
        api_view(views.CommitmentMilestones),
        name="commitment_milestones",
    ),
    path("updates/", api_view(views.UpdateList), name="update_list"),
    path("events/", api_view(views.EventList), name="event_list"),
    path("events/<slug:slug>/", api_view(views.EventDetail), name="event_detail"),
]
