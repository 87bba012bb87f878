"""core.widgets.QuickSelect writes what Django's select templates write, byte for byte."""

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.widgets import QuickSelect

CHOICES = [
    ("", gettext_lazy("Any status")),
    (1, "Plain"),
    ("a&b", 'Quotes " and <tags> & ampersands'),
    ("safe", mark_safe("<b>kept</b>")),
    (3, 12345),
]
GROUPED = [
    ("", "None"),
    ("Group <one>", [("x", "Ex"), ("y", "Why")]),
    ("Group two", [(7, "Seven")]),
]


@pytest.mark.parametrize(
    ("choices", "value", "attrs"),
    [
        (CHOICES, None, None),
        (CHOICES, "a&b", {"id": "id_f", "aria-describedby": 'h"elp'}),
        (CHOICES, 1, {"required": True, "disabled": False, "class": mark_safe("a&b")}),
        (GROUPED, "y", {"id": "id_g"}),
        ([], None, None),
    ],
)
def test_quick_select_writes_what_django_select_writes(choices, value, attrs):
    expected = forms.Select(choices=choices).render("name", value, attrs)
    assert QuickSelect(choices=choices).render("name", value, attrs) == expected


def test_quick_select_writes_what_django_select_writes_in_russian():
    from django.utils import translation

    with translation.override("ru"):
        expected = forms.Select(choices=CHOICES).render("f", "", None)
        assert QuickSelect(choices=CHOICES).render("f", "", None) == expected
