from django import template

from core.roles import user_can_edit_record

from .. import submissions

register = template.Library()


@register.simple_tag
def reports_waiting(user) -> int | None:
    """How many submitted reports wait for review, for the secretariat's menu (one COUNT);
    None for anyone else, who has no queue."""
    if not user_can_edit_record(user):
        return None
    return submissions.report_waiting_count()
