"""The benchmark's reference: a minimal Django project, as `django-admin startproject` makes it,
with one `login_required` view. `make bench` serves it beside the tracker and reports every
page's throughput as a share of this one's (docs/performance.md#the-reference).

It shares nothing with the tracker but the database server and the gunicorn settings: its own
settings module, its own database (BENCH_REFERENCE_DATABASE_URL), Django's default middleware
and database sessions.
"""
