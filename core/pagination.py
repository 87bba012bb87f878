"""Page sizes and page numbers read from a list page's query string, bounded.

django-tables2's RequestConfig passes any integer in `per_page` and `page` to the paginator:
a negative or zero size raised a 500, a huge one was honoured (and cached as its own page).
Every paginated view reads both through here; anything else falls back to the default.
"""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from django_tables2.rows import BoundRows

# The page sizes a list offers; each view's default is one of them.
PAGE_SIZES = (25, 50, 100)
# No list has more pages than this; a larger number is read as this one, past every last page.
MAX_PAGE_NUMBER = 2**31 - 1


def whole_number(value) -> int | None:
    """A whole number written in ASCII digits, of at most ten (int() refuses a string of over
    4,300 digits with an error), or None."""
    text = str(value or "").strip()
    return int(text) if text.isdecimal() and text.isascii() and len(text) <= 10 else None


def page_size(value, *, default: int) -> int:
    """The size asked for if it is one of PAGE_SIZES, otherwise the view's default."""
    size = whole_number(value)
    return size if size in PAGE_SIZES else default


def page_number(value) -> int | None:
    """A page number from 1 up, or None (the first page) for anything but ASCII digits. A number
    beyond MAX_PAGE_NUMBER, of however many digits, is MAX_PAGE_NUMBER: past the last page of
    every list, which each list answers as it answers any page past its last (the pages show
    the last, the API says 404), not as junk; read without int() of the whole text (which
    refuses over 4,300 digits)."""
    text = str(value or "").strip()
    if not (text.isdecimal() and text.isascii()):
        return None
    digits = text.lstrip("0")
    if len(digits) > len(str(MAX_PAGE_NUMBER)):
        return MAX_PAGE_NUMBER
    number = int(digits or "0")
    return min(number, MAX_PAGE_NUMBER) if number >= 1 else None


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


def page_of_count(count: int, *, size: int, number: int) -> tuple[Page, list]:
    """Page `number` (from 1 to the last) of `count` rows, and the numbers its links show, for a
    view that counts its rows (and keeps the count) and reads a page's rows itself: the Page
    holds the row numbers, not the rows. The links are elided around the current page (1 … 4 5 6
    … 33), so that they fit a phone's width whatever the count."""
    paginator = Paginator(range(count), size)
    links = paginator.get_elided_page_range(number, on_each_side=1, on_ends=1)
    return paginator.page(number), list(links)


class NearerEndPaginator(Paginator):
    """Django's paginator for a django-tables2 table of a queryset, which reads a page past the
    middle from the end: the rows in the opposite order (QuerySet.reverse(), every term of the
    ORDER BY turned, nulls too), skipping the rows after the page, then turned back. PostgreSQL
    skips an OFFSET's rows one by one, and sorts all of them when no index gives the order:
    the commitments table's last page at 200,000 rows was an OFFSET of 199,950 (0.9 s), read
    backwards it is 25 rows down an index. The same rows in the same order either way, but for
    rows that tie on every sorted column, whose order no query fixes."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        queryset = getattr(getattr(rows, "data", None), "data", None)
        if not isinstance(queryset, QuerySet) or not queryset.ordered or bottom <= self.count - top:
            return self._get_page(rows[bottom:top], number, self)
        after = self.count - top
        records = list(queryset.reverse()[after : after + (top - bottom)])
        records.reverse()
        page_rows = BoundRows(records, table=rows.table, pinned_data=rows.pinned_data)
        return self._get_page(page_rows, number, self)
