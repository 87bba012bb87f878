"""{% cite_this %}: the "Cite this" line of a document, a commitment or a status update.

{% load citations %}
{% cite_this document.title document.get_absolute_url day=document.adopted_on %}
{% cite_this commitment.title commitment.get_absolute_url day=update.happened_on update=update.pk %}
"""

import datetime

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from commitments.citations import absolute_url, update_anchor
from core.local_time import format_day, reader_today

register = template.Library()


@register.simple_tag(takes_context=True)
def cite_this(
    context,
    title: str,
    path: str,
    *,
    day: datetime.date | None = None,
    part: str = "",
    update: int | None = None,
) -> SafeString:
    """Title, day, part (a paragraph, an update), the absolute address and the day the reader
    retrieved it (their today: the page is cached per reader's day where it is cached).
    Written here, not by an included template: a commitment's page has one a status update,
    50 a page, and a template took 150 us for each (issue 16)."""
    request = context.get("request")
    url = absolute_url(f"{path}#{update_anchor(update)}" if update else path)
    retrieved = format_day(reader_today(getattr(request, "user", None)))
    return format_html(
        '<p class="cite-this"><span class="cite-label">{}</span> <span class="citation">'
        '{}{}{}. {}, <a href="{}">{}</a> ({}).</span></p>\n',
        gettext("Cite this:"),
        title,
        format_html(", {}", format_day(day)) if day else "",
        format_html(", {}", part) if part else "",
        gettext("Commitment tracker"),
        url,
        url,
        # As {% blocktranslate %} writes it: the day escaped, the words as translated.
        mark_safe(gettext("retrieved %(day)s") % {"day": escape(retrieved)}),
    )
