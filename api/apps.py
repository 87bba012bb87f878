from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API at /api/v1/ (docs/api.md): the record read, and status updates written,
    with the pages' permissions. The top layer: it may import core, commitments and tracker."""

    name = "api"
    verbose_name = "API"
