"""`{% load audit %}{% audit_trail object %}`: an object's change history, for the secretariat."""

from django import template

from tracker.audit import audit_entries_for, user_can_see_audit_trail

register = template.Library()


@register.inclusion_tag("tracker/_audit_trail.html", takes_context=True)
def audit_trail(context, obj):
    user = context["request"].user
    return {
        "audit_visible": user_can_see_audit_trail(user),
        "audit_entries": audit_entries_for(obj, viewer=user),
        "reader": user,  # times are shown on the reader's clock
    }
