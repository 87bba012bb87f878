"""Statements the ORM writes once per process, for writes made row by row many times over
(a status update's copies, a bulk import's thousands of rows): resolving and compiling their
subqueries cost more Python than running them. Each is compiled with ANY_ID where it takes
its row's id, cached per database vendor, and run with the id put in its place (with_id).
"""

# No row has this id: the one parameter of a compiled statement that with_id replaces.
ANY_ID = -7_654_321


def with_id(params: tuple, row_id: int) -> list:
    """The statement's parameters with `row_id` where it was compiled with ANY_ID; refuses a
    statement that does not take exactly one (the ORM wrote it otherwise)."""
    if list(params).count(ANY_ID) != 1:
        raise RuntimeError(f"A compiled statement takes no single id: {params}")
    return [row_id if param == ANY_ID else param for param in params]
