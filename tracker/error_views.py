"""The page for a form refused by Django's CSRF check (settings.CSRF_FAILURE_VIEW).

The 400, 403, 404 and 500 pages are Django's own handlers rendering templates/<code>.html.
"""

from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    """Say what happened in the reader's words; the technical reason goes only to the log,
    which Django's CsrfViewMiddleware already writes (django.security.csrf)."""
    return render(request, "403_csrf.html", status=403)
