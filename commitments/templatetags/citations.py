"""{% cite_this %}: the "Cite this" line of a document, a commitment or a status update.

{% load citations %}
{% cite_this document.title document.get_absolute_url day=document.adopted_on %}
{% cite_this commitment.title commitment.get_absolute_url day=update.happened_on update=update.pk %}
"""

import datetime

from django import template

from commitments.citations import absolute_url, update_anchor
from core.local_time import reader_today

register = template.Library()


@register.inclusion_tag("commitments/_cite_this.html", takes_context=True)
def cite_this(
    context,
    title: str,
    path: str,
    *,
    day: datetime.date | None = None,
    part: str = "",
    update: int | None = None,
) -> dict:
    """Title, day, part (a paragraph, an update), the absolute address and the day the reader
    retrieved it (their today: the page is cached per reader's day where it is cached)."""
    request = context.get("request")
    return {
        "title": title,
        "day": day,
        "part": part,
        "url": absolute_url(f"{path}#{update_anchor(update)}" if update else path),
        "retrieved": reader_today(getattr(request, "user", None)),
    }
