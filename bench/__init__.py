"""The performance benchmark: `make bench` (pages under load) and `make bench-reminders`.

generator builds the scale dataset, server runs gunicorn, load drives it with wrk, stats turns
latencies into median and p95, reminders measures dispatch, run ties them together.
"""
