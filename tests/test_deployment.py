"""The production stack, read from its files (there is no Docker engine here) and run for real.

docker-compose.yml and `make serve` must start the same bin/ scripts; every variable the
production settings require must reach web, worker and beat; bin/web serves the login page and
hashed static files with production settings.
"""

import ast
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import environ
import psycopg2
import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = {"web": "bin/web", "worker": "bin/worker", "beat": "bin/beat"}


def required_environment() -> tuple[str, ...]:
    """production.REQUIRED_ENVIRONMENT, read without importing (importing needs those variables)."""
    tree = ast.parse((ROOT / "config/settings/production.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", "") == "REQUIRED_ENVIRONMENT"
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("production.py has no REQUIRED_ENVIRONMENT")


@pytest.mark.parametrize(
    "variable, value",
    [("TRACKER_CALENDAR_FUTURE_YEARS", "10000"), ("TRACKER_CALENDAR_PAST_MONTHS", "-1")],
)
def test_a_calendar_window_out_of_range_is_refused_at_start(variable, value):
    """Not a feed that fails on its first request (year 12026 is past Python's dates)."""
    result = subprocess.run(
        [ROOT / ".venv/bin/python", "manage.py", "check"],
        cwd=ROOT,
        env={**production_environment(), variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "TRACKER_CALENDAR_FUTURE_YEARS 1 to 100" in result.stderr


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_calls(path: Path) -> dict[str, bool]:
    """Variables a settings file reads with env(...)/env.int(...)..., and whether with a default."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func, name = node.func, node.args[0]
        reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "env"
        )
        if reads_env and isinstance(name, ast.Constant):
            found[name.value] = found.get(name.value, False) or any(
                keyword.arg == "default" for keyword in node.keywords
            )
    return found


def production_env_calls() -> dict[str, bool]:
    """production.py overrides base.py: a variable read there without default is required."""
    calls = env_calls(ROOT / "config/settings/base.py")
    calls.update(env_calls(ROOT / "config/settings/production.py"))
    return calls


# --- The compose file -------------------------------------------------------------------------


def test_the_stack_has_its_services_with_pinned_major_versions(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "cache", "web", "worker", "beat", "mailpit"}
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["cache"]["image"] == "redis:7"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def test_the_cache_has_a_redis_of_its_own_that_evicts_and_the_broker_never_does(compose):
    services = compose["services"]
    environment = compose["x-app"]["environment"]
    broker, cache = services["redis"]["command"], services["cache"]["command"]

    assert environment["REDIS_URL"].startswith("redis://redis:")
    assert environment["REDIS_CACHE_URL"].startswith("redis://cache:")
    assert option(broker, "--maxmemory-policy") == "noeviction"
    assert option(cache, "--maxmemory-policy") == "allkeys-lru"
    assert option(cache, "--maxmemory")
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["cache"]["condition"] == "service_healthy", name


def test_without_redis_cache_url_the_cache_takes_the_brokers_next_database():
    from django.core.exceptions import ImproperlyConfigured

    from config.settings.base import cache_redis_url

    assert cache_redis_url("redis://redis:6379/0") == "redis://redis:6379/1"
    assert cache_redis_url("redis://:secret@host:6380") == "redis://:secret@host:6380/1"
    assert cache_redis_url("rediss://host:6379/7?ssl_cert_reqs=none").endswith(
        "/8?ssl_cert_reqs=none"
    )
    with pytest.raises(ImproperlyConfigured, match="set REDIS_CACHE_URL"):
        cache_redis_url("unix:///run/redis.sock")
    assert cache_redis_url("redis://host:6379/14") == "redis://host:6379/15"
    with pytest.raises(ImproperlyConfigured, match="names database 15, the last"):
        cache_redis_url("redis://host:6379/15")


def test_web_worker_and_beat_run_the_scripts_make_serve_runs(compose):
    commands = {name: compose["services"][name]["command"] for name in APP_SERVICES}
    assert commands == {name: [script] for name, script in APP_SERVICES.items()}

    serve_recipe = re.search(r"^serve:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert serve_recipe and "bin/serve" in serve_recipe.group(1)
    serve = (ROOT / "bin/serve").read_text()
    for script in APP_SERVICES.values():
        assert re.search(rf"^\./{Path(script).name} &", serve, re.M), script
        assert os.access(ROOT / script, os.X_OK), script


def test_exactly_one_beat(compose):
    services = compose["services"]
    beats = [name for name, service in services.items() if "bin/beat" in service.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in services["beat"]


def test_every_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name


def test_app_services_wait_for_healthy_database_and_redis(compose):
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_worker_and_beat_start_once_web_has_migrated_the_database(compose):
    web_script = (ROOT / "bin" / "web").read_text()
    assert web_script.index("manage.py migrate") < web_script.index("exec gunicorn")
    assert "bin/healthcheck" in compose["services"]["web"]["healthcheck"]["test"][1]
    for name in ("worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["web"]["condition"] == "service_healthy", name


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, f"{name}: {volume} is not a named volume"
            used.add(source)
    assert used == declared
    assert any(v.endswith("/var/lib/postgresql/data") for v in compose["services"]["db"]["volumes"])


def test_the_required_variables_are_the_ones_without_default():
    required = {name for name, has_default in production_env_calls().items() if not has_default}
    assert required == set(required_environment())


def test_every_required_variable_reaches_web_worker_and_beat(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        missing = [v for v in required_environment() if not environment.get(v)]
        assert missing == [], name
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_env_example_lists_every_variable():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = set(production_env_calls())
    read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    for script in ("web", "worker", "beat"):
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", (ROOT / "bin" / script).read_text()))
    assert sorted(read - listed) == []


def test_the_image_is_built_from_the_dockerfile_and_runs_unprivileged(compose):
    for name in APP_SERVICES:
        build = compose["services"][name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"pip install (--no-deps )?\.", dockerfile)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")


# --- Production settings, for real ------------------------------------------------------------


def production_environment(**overrides) -> dict[str, str]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///:memory:"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
    }
    return {**environment, **overrides}


def test_production_settings_pass_the_deployment_checks():
    result = subprocess.run(
        [ROOT / ".venv/bin/python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_required_variable():
    environment = production_environment()
    del environment["REDIS_URL"]
    result = subprocess.run(
        [ROOT / ".venv/bin/python", "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


@pytest.fixture(scope="module")
def serve_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def serve_database_url(serve_folder):
    """A database of its own for the servers under test: PostgreSQL when the suite runs on it.
    Shared by this module's servers, so that only the first one has to migrate it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{serve_folder / 'serve.sqlite3'}"
        return
    config = environ.Env.db_url_config(url)
    name = f"{config['NAME']}_serve"
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"],
        host=config["HOST"],
        port=config["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def serve_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "WEB_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": "1",
    }


@pytest.fixture(scope="module")
def web_server(serve_folder, serve_database_url):
    """bin/web with production settings on a free loopback port; yields its base address."""
    log = serve_folder / "web.log"
    process = start("bin/web", log, **serve_environment(serve_folder, serve_database_url))
    try:
        yield f"http://127.0.0.1:{wait_for_port(process, log)}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def start(script: str, log: Path, **environment) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [ROOT / script], env=production_environment(**environment), stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_for_log(process, log: Path, pattern: str) -> re.Match:
    """Waits for a line in the log; migrations on PostgreSQL can take a while first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if match := re.search(pattern, log.read_text()):
            return match
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} stopped:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"no {pattern!r} from {process.args[0]}:\n{log.read_text()}")


def wait_for_port(process, log: Path) -> int:
    """Gunicorn names the port it was given (port 0: a free one)."""
    return int(wait_for_log(process, log, r"Listening at: http://127\.0\.0\.1:(\d+)").group(1))


def group_is_gone(process_group: int) -> bool:
    try:
        os.killpg(process_group, 0)
    except ProcessLookupError:
        return True
    return False


def fetch(url: str, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        return r.status, r.headers, r.read().decode()


def test_bin_web_migrates_and_serves_pages_and_hashed_static_files(web_server):
    status, headers, html = fetch(f"{web_server}/login/")
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    stylesheet = re.search(r'href="(/static/css/tracker\.[0-9a-f]{12}\.css)"', html)
    assert stylesheet, "the page links the hashed stylesheet"

    status, headers, css = fetch(web_server + stylesheet.group(1))
    assert status == 200
    assert "immutable" in headers["Cache-Control"]
    assert css == (ROOT / "static/css/tracker.css").read_text()

    # Behind the TLS proxy: HSTS and secure cookies.
    status, headers, _ = fetch(f"{web_server}/login/", **{"X-Forwarded-Proto": "https"})
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in headers["Set-Cookie"]


def test_the_compose_health_check_of_web_passes_against_bin_web(web_server):
    port = web_server.rsplit(":", 1)[1]
    result = subprocess.run(
        [ROOT / "bin/healthcheck", "web"],
        env={**os.environ, "WEB_PORT": port, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_serve_runs_web_worker_and_beat_and_stops_them_together(tmp_path, serve_database_url):
    log = tmp_path / "serve.log"
    environment = serve_environment(tmp_path, serve_database_url)
    process = start("bin/serve", log, CELERY_LOG_LEVEL="INFO", **environment)
    try:
        port = wait_for_port(process, log)
        wait_for_log(process, log, r"celery@\S+ ready")
        wait_for_log(process, log, r"beat: Starting")
        assert fetch(f"http://127.0.0.1:{port}/login/")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C or a service manager does
        process.wait(timeout=120)
    deadline = time.monotonic() + 60
    while not group_is_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    stopped = group_is_gone(process.pid)
    if not stopped:
        os.killpg(process.pid, signal.SIGKILL)  # leave nothing running for the next test
    assert stopped, log.read_text()


# --- Every setting is documented ---------------------------------------------------------------


def documented(name: str, text: str) -> bool:
    """Named whole, or as a table row's shorthand: `DJANGO_SECURE_HSTS_SECONDS`,
    `_INCLUDE_SUBDOMAINS` stands for DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS."""
    if f"{name}" in text:
        return True
    parts = name.split("_")
    return any(
        f"`_{'_'.join(parts[i:])}`" in text and "_".join(parts[:i]) in text
        for i in range(1, len(parts))
    )


@pytest.mark.parametrize("where", ["docs/deployment.md", ".env.example"])
def test_every_environment_variable_the_settings_read_is_documented(where):
    text = (ROOT / where).read_text()
    names = set()
    for module in ("base", "local", "production"):
        names |= set(env_calls(ROOT / f"config/settings/{module}.py"))

    assert sorted(name for name in names if not documented(name, text)) == []


def test_cache_keys_carry_the_code_that_wrote_them(tmp_path):
    """An upgrade's new workers never read what old ones cached beside them in Redis (a pickled
    object missing a field the new code reads, a page from an old template): the cache's key
    version is a digest of the code, changed by any code file and by nothing else."""
    from config.settings import base

    (tmp_path / "core").mkdir()
    (tmp_path / "templates").mkdir()
    code, template = tmp_path / "core" / "views.py", tmp_path / "templates" / "page.html"
    code.write_text("x = 1\n")
    template.write_text("<p>one</p>")
    first = base.code_digest(tmp_path)
    (tmp_path / "core" / "notes.log").write_text("not code")
    assert base.code_digest(tmp_path) == first
    template.write_text("<p>two</p>")
    second = base.code_digest(tmp_path)
    code.write_text("x = 2\n")
    assert len({first, second, base.code_digest(tmp_path)}) == 3
    assert base.CACHES["default"]["VERSION"] == base.CODE_VERSION == base.code_digest(base.BASE_DIR)
