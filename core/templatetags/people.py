"""People's names in templates, as core.roles.person_shown gives them to the reader.

{% load people %}
{{ update.author|shown_to:user }}     "Aman Orazov"; without a full name, the login name for the
                                      secretariat and "the secretariat" for everyone else
"""

from django import template

from core.roles import person_shown

register = template.Library()


@register.filter
def shown_to(person, reader) -> str:
    return person_shown(person, reader=reader)
