"""A form body too big to read gets a page that says so, instead of "Bad Request (400)"."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format


class FormTooLargeMiddleware:
    """Read a POST's form before anything else does (the CSRF check would, and fail with a
    bare 400): one over DATA_UPLOAD_MAX_MEMORY_SIZE is answered with a page (413) saying that
    nothing was saved and how to go on. Runs after the login and language middleware, so the
    page is in the reader's language and layout; their own checks run later, in process_view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            try:
                request.POST  # noqa: B018 (parsed once, and kept for the CSRF check and view)
            except (RequestDataTooBig, TooManyFieldsSent) as refused:
                context = {
                    "too_many_fields": isinstance(refused, TooManyFieldsSent),
                    "field_limit": number_format(
                        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, force_grouping=True
                    ),
                    "limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
                    "narrative_limit": number_format(
                        settings.NARRATIVE_MAX_CHARACTERS, force_grouping=True
                    ),
                }
                return render(request, "413.html", context, status=413)
        return self.get_response(request)
