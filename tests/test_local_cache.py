"""`make run` without Redis: the web app, the worker and beat are separate processes and share
one cache in files (config/settings/local.py), so a write in one is seen by the others at once.
That it starts empty: tests/test_run_local.py."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A write (core.caching.invalidate, as every service calls it), then the family's token.
WRITE = (
    "from core import caching; caching.invalidate(caching.RECORD); "
    "print(caching.generation(caching.RECORD))"
)
READ = "from core import caching; print(caching.generation(caching.RECORD))"


def in_a_process_of_its_own(code: str, cache_dir: Path, tmp_path: Path, db="db") -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "REDIS_CACHE_URL", "DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / db}.sqlite3",
        TRACKER_LOCAL_CACHE_DIR=str(cache_dir),
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_write_in_one_process_is_seen_by_the_next(tmp_path):
    cache_dir = tmp_path / "cache"

    written = in_a_process_of_its_own(WRITE, cache_dir, tmp_path)  # the worker, say
    read = in_a_process_of_its_own(READ, cache_dir, tmp_path)  # the web app

    assert read == written
    assert any(cache_dir.iterdir())
    again = in_a_process_of_its_own(WRITE, cache_dir, tmp_path)
    assert in_a_process_of_its_own(READ, cache_dir, tmp_path) == again != written


def test_a_server_on_another_database_reads_none_of_it(tmp_path):
    cache_dir = tmp_path / "cache"

    written = in_a_process_of_its_own(WRITE, cache_dir, tmp_path, db="first")
    read = in_a_process_of_its_own(READ, cache_dir, tmp_path, db="second")

    assert read != written
    assert in_a_process_of_its_own(READ, cache_dir, tmp_path, db="first") == written
