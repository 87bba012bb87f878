"""Row ids sent by a browser: ASCII digits within the database's integer range, or nothing.

str.isdigit() accepts "²" and other Unicode digits, which int() then refuses, and a number
past the integer range makes SQLite raise instead of finding no row: either would be a 500."""

from django import forms

# The largest id an integer primary key holds on every supported database.
MAX_ROW_ID = 2**31 - 1


def ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def row_id(value) -> int | None:
    """The id `value` names, or None for anything no row can have."""
    text = str(value if value is not None else "").strip()
    if not ascii_digits(text) or len(text) > len(str(MAX_ROW_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None


def row_ids(values) -> list[int]:
    """The ids among `values`, junk left out."""
    return [number for number in map(row_id, values) if number is not None]


class RowIdsField(forms.ModelMultipleChoiceField):
    """A choice of rows by id that refuses junk ids (a form error, not a 500)."""

    def _check_values(self, value):
        for pk in value:
            if (self.to_field_name or "pk") == "pk" and row_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)
