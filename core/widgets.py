"""Form widgets written out in Python rather than through Django's widget templates.

Django renders every <option> of a <select> through two template includes (the option and its
attributes): for the commitments table's filters, about 700 options, that was most of a cold
table page's rendering. `QuickSelect` writes the very same markup (tests/core/test_widgets.py
compares it with Django's own) from the same context, with no template.
"""

from django import forms
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe


def _shown(value) -> str:
    """A value as `{{ value }}` shows it: localized, then escaped unless already safe."""
    value = localize(value)
    return conditional_escape(value if isinstance(value, str) else str(value))


def _formatted(value) -> str:
    """A value as `{{ value|stringformat:'s' }}` shows it (a safe string stays unescaped;
    stringformat spells a tuple as str() does)."""
    return value if isinstance(value, SafeData) else conditional_escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare name for True, none for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_shown(name)}")
        if value is not True:
            parts.append(f'="{_formatted(value)}"')
    return "".join(parts)


class QuickSelect(forms.Select):
    """forms.Select, its markup byte for byte the same as django/forms/widgets/select.html and
    select_option.html make (the option template ends with a line break: kept).

    `kept_options`, when a view sets it, is options_markup() as kept earlier (core.caching):
    render() then writes it with the value chosen, and reads no choice (a dropdown of a
    queryset's rows reads none of them)."""

    kept_options: str | None = None

    def render(self, name, value, attrs=None, renderer=None):
        if self.kept_options is None:
            widget = self.get_context(name, value, attrs)["widget"]
            options = _options(widget["optgroups"])
        else:
            widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
            options = _chosen(self.kept_options, widget["value"])
        head = f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>'
        return mark_safe(f"{head}{options}\n</select>")

    def options_markup(self, name: str) -> str:
        """The options as render() writes them, none chosen; to keep as `kept_options`."""
        return _options(self.optgroups(name, [], None))


def _options(optgroups) -> str:
    parts = []
    for group_name, group_choices, _index in optgroups:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            value, label = _formatted(option["value"]), _shown(option["label"])
            parts.append(f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    return "".join(parts)


def _chosen(options: str, values: list[str]) -> str:
    """Options with the first of the values chosen, as Select.optgroups chooses: the first
    option whose value is one of them (the empty one for no value); none if none is."""
    for value in values:
        plain = f'\n  <option value="{_formatted(value)}">'
        if plain in options:
            return options.replace(plain, f"{plain[:-1]} selected>", 1)
    return options


class TypeAhead(forms.Widget):
    """A filter on one of many rows (thousands of documents or owners) as a text box that
    suggests, rather than a dropdown that lists every row on every page.

    Written: the chosen row's id in a hidden input of the filter's own name, so the address
    still says `?document=5`; the text box, named `<name>` + TEXT_SUFFIX, showing the chosen
    row's label (`chosen_label`) or what was typed (`typed`); and an empty <datalist> that
    static/js/type-ahead.js fills with the labels `choices_url` suggests for the text so far.
    The view turns what was typed into an id (commitments.filters.typed_filters), so the box
    works without a script too: part of a name that only one row has is enough."""

    TEXT_SUFFIX = "_text"
    chosen_label: str = ""
    typed: str | None = None
    choices_url: str = ""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        list_id = f"{attrs.get('id', name)}_choices"
        shown = self.typed if self.typed is not None else self.chosen_label
        box = {
            "type": "search",
            "name": name + self.TEXT_SUFFIX,
            "value": shown,
            "list": list_id,
            "autocomplete": "off",
            "data-choices": self.choices_url,
            **attrs,
        }
        chosen = self.format_value(value)
        hidden = f'<input type="hidden" name="{_shown(name)}" value="{_formatted(chosen)}">'
        suggestions = f'<datalist id="{_shown(list_id)}"></datalist>'
        return mark_safe(f"{hidden if chosen else ''}<input{_attrs(box)}>{suggestions}")
