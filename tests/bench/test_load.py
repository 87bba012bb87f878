"""The load driver against a tiny loopback server: bounded, counts statuses, sends the cookie
and the headers it is given."""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.load import Load, LoadError, drive, parse_wrk_output

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cookies = []
    authorizations = []
    encodings = []

    def do_GET(self):
        self.cookies.append(self.headers.get("Cookie"))
        self.authorizations.append(self.headers.get("Authorization"))
        self.encodings.append(self.headers.get("Accept-Encoding"))
        status = 404 if self.path == "/missing" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.cookies = []
    Handler.authorizations = []
    Handler.encodings = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@needs_wrk
def test_it_stops_each_connection_after_its_request_budget(server):
    result = drive(
        f"{server}/", cookie="sessionid=abc", load=Load(seconds=1, connections=2, max_requests=5)
    )
    # A thread stops after its fifth response; at most one more may be in flight on it.
    assert 10 <= result["requests"] <= 12
    assert result["non_200"] == 0
    assert result["median_ms"] <= result["p95_ms"]
    assert set(Handler.cookies) == {"sessionid=abc"}


@needs_wrk
def test_it_sends_an_api_token_as_the_authorization_header(server):
    drive(f"{server}/", authorization="Bearer ctk_x", load=Load(seconds=1, connections=1,
          max_requests=2))  # fmt: skip
    assert set(Handler.authorizations) == {"Bearer ctk_x"}
    assert set(Handler.cookies) == {None}


@needs_wrk
def test_it_sends_an_accept_encoding_header_only_when_given_one(server):
    drive(f"{server}/", load=Load(seconds=1, connections=1, max_requests=2))
    assert set(Handler.encodings) == {None}
    drive(f"{server}/", accept_encoding="gzip", load=Load(seconds=1, connections=1, max_requests=2))
    assert set(Handler.encodings) == {None, "gzip"}


@needs_wrk
def test_it_counts_responses_that_are_not_200(server):
    result = drive(f"{server}/missing", load=Load(seconds=1, connections=1, max_requests=3))
    assert result["non_200"] == result["requests"] >= 3


def test_the_result_line_is_summarised_with_the_statistics_functions():
    output = 'Running 1s test\nBENCH-JSON {"elapsed_us":500000,"non_200":1,"socket_errors":0,'
    output += '"samples_us":[1000,2000,3000,4000,5000]}\n'
    assert parse_wrk_output(output) == {
        "requests": 5,
        "rps": 10.0,
        "median_ms": 3.0,
        "p95_ms": 5.0,
        "p99_ms": 5.0,
        "non_200": 1,
        "socket_errors": 0,
    }


def test_a_run_without_a_result_line_or_samples_is_an_error():
    with pytest.raises(LoadError):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused")
    with pytest.raises(LoadError):
        parse_wrk_output(
            'BENCH-JSON {"elapsed_us":0,"non_200":0,"socket_errors":0,"samples_us":[]}'
        )
