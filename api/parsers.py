"""The API's request bodies (REST_FRAMEWORK DEFAULT_PARSER_CLASSES in config.settings.base).

JSON nested deeper than Python's recursion limit (`[[[[…]]]]` a hundred thousand times) makes
the json module raise RecursionError, which REST framework's parser lets through as a 500: this
one answers it as any other unreadable body, 400 with a message, before a view sees anything."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

TOO_DEEP = _("The JSON is nested too deeply to read. Send objects and lists a few levels deep.")


class NestingLimitedJSONParser(JSONParser):
    """REST framework's JSON parser, refusing a body nested too deeply to read."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
