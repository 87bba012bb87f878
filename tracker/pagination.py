"""Page sizes and page numbers read from a list page's query string, bounded.

django-tables2's RequestConfig passes any integer in `per_page` and `page` to the paginator:
a negative or zero size raised a 500, a huge one was honoured (and cached as its own page).
Every paginated view reads both through here; anything else falls back to the default.
"""

from django.http import QueryDict

# The page sizes a list offers; each view's default is one of them.
PAGE_SIZES = (25, 50, 100)
# No list has more pages than this; a larger number is junk, not a page.
MAX_PAGE_NUMBER = 2**31 - 1


def page_size(value, *, default: int) -> int:
    """The size asked for if it is one of PAGE_SIZES, otherwise the view's default."""
    text = str(value or "").strip()
    return int(text) if text.isdecimal() and int(text) in PAGE_SIZES else default


def page_number(value) -> int | None:
    """A page number from 1 up, or None (the first page) for anything else."""
    text = str(value or "").strip()
    if text.isdecimal() and text.isascii() and 1 <= int(text) <= MAX_PAGE_NUMBER:
        return int(text)
    return None


def bounded_pagination(params: QueryDict, *, default_size: int) -> QueryDict:
    """A copy of the query string whose `per_page` and `page` (the last of repeated ones) are
    valid, or absent when they were not or were the default, for RequestConfig to read."""
    bounded = params.copy()
    size = page_size(params.get("per_page"), default=default_size)
    number = page_number(params.get("page"))
    bounded.pop("per_page", None)
    bounded.pop("page", None)
    if size != default_size:
        bounded["per_page"] = str(size)
    if number not in (None, 1):
        bounded["page"] = str(number)
    return bounded
