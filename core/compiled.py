"""Statements the ORM writes once per process (or per database connection) and runs many times
with new values: resolving and compiling a queryset costs more Python than running it.

- Writes made row by row many times over (a status update's copies, a bulk import's thousands
  of rows): each is compiled with ANY_ID where it takes its row's id, cached per database
  vendor, and run with the id put in its place (with_id).
- Reads made on every request (the session's and the user's rows: core.sessions; an API
  token's row with its owner's: tracker.api_tokens): CompiledRead, the same SQL the ORM
  writes for the same filter, built once per connection.
"""

import datetime

from django.db import connections, router
from django.db.models.query import get_related_populators

# No row has this id: the one parameter of a compiled statement that with_id replaces.
ANY_ID = -7_654_321


def with_id(params: tuple, row_id: int) -> list:
    """The statement's parameters with `row_id` where it was compiled with ANY_ID; refuses a
    statement that does not take exactly one (the ORM wrote it otherwise)."""
    if list(params).count(ANY_ID) != 1:
        raise RuntimeError(f"A compiled statement takes no single id: {params}")
    return [row_id if param == ANY_ID else param for param in params]


# Values no real row is read by, by the kind of field a compiled read is filtered on, the n-th
# lookup's its own: the queryset is compiled with them and each must be found again, once and
# as given, among the statement's parameters (a lookup that sends its value changed, such as
# startswith's pattern, is refused rather than filled wrongly).
MARKERS = {
    "AutoField": lambda n: ANY_ID - n,
    "BigAutoField": lambda n: ANY_ID - n,
    "CharField": lambda n: f"\x00compiled-read-{n}\x00",
    "DateTimeField": lambda n: datetime.datetime(1901, 2, 3, 4, 5, n, tzinfo=datetime.UTC),
}


def _in_range(field, value, connection) -> bool:
    """Whether an id fits the database's column (the ORM finds no row for one that does not)."""
    if not isinstance(value, int):
        return True
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)


class CompiledRead:
    """One model's row found by a few exact or compared values, as `manager.filter(**lookups)`
    finds it, with the ORM's SQL, column conversions and instance, but resolved and compiled
    once per database connection instead of on every call (a thread has its own connection,
    so nothing compiled is shared between threads). `manager` may be a queryset that follows
    foreign keys (select_related): the rows it joins are read in the same statement and set
    on the instance, as the ORM sets them.

        SESSION = CompiledRead(lambda: Session.objects, "session_key", "expire_date__gt")
        SESSION.first(session_key=key, expire_date__gt=now)  # a Session, or None
        TOKEN = CompiledRead(lambda: ApiToken.objects.select_related("user"), "prefix")
    """

    def __init__(self, manager, *lookups: str):
        self.manager = manager  # called when first compiled: models may not be ready at import
        self.lookups = lookups

    def first(self, **values):
        """The first row matching `values` (one per lookup), or None."""
        manager = self.manager()
        connection = connections[router.db_for_read(manager.model)]
        sql, params, slots, compiler, converters, columns, related = self._compiled(
            connection, manager
        )
        params = list(params)
        for lookup, (position, field) in slots.items():
            value = field.get_db_prep_value(values[lookup], connection, prepared=False)
            if not _in_range(field, value, connection):
                return None  # as the ORM's exact lookup: no row has it (SQLite would raise)
            params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:  # the ORM's conversions of each column's value (a date on SQLite...)
            row = next(compiler.apply_converters([row], converters))
        instance = manager.model.from_db(connection.alias, columns, row[: len(columns)])
        for populator in related:  # the joined rows, as the ORM's ModelIterable sets them
            populator.populate(row, instance)
        return instance

    def _compiled(self, connection, manager):
        kept = connection.__dict__.setdefault("compiled_reads", {})
        if self not in kept:
            kept[self] = self._compile(connection, manager)
        return kept[self]

    def _compile(self, connection, manager):
        model = manager.model
        fields = {lookup: self._field(model, lookup) for lookup in self.lookups}
        markers = {
            lookup: MARKERS[field.get_internal_type()](n)
            for n, (lookup, field) in enumerate(fields.items())
        }
        queryset = manager.filter(**markers)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = {}
        for lookup, field in fields.items():
            prepared = field.get_db_prep_value(markers[lookup], connection, prepared=False)
            positions = [i for i, param in enumerate(params) if param == prepared]
            if len(positions) != 1:
                raise RuntimeError(f"A compiled read does not take {lookup} once: {params}")
            slots[lookup] = (positions[0], field)
        start, end = (
            compiler.klass_info["select_fields"][0],
            compiler.klass_info["select_fields"][-1],
        )
        if start != 0:
            raise RuntimeError(f"A compiled read selects more than its model's columns: {sql}")
        columns = [column[0].target.attname for column in compiler.select[start : end + 1]]
        selected = [column[0] for column in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(selected):
            raise RuntimeError(f"A compiled read selects a composite field: {sql}")
        converters = compiler.get_converters(selected)
        related = get_related_populators(compiler.klass_info, compiler.select, connection.alias)
        return sql, tuple(params), slots, compiler, converters, columns, related

    @staticmethod
    def _field(model, lookup: str):
        name = lookup.split("__")[0]
        return model._meta.pk if name == "pk" else model._meta.get_field(name)
