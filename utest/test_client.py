"""The one API client, on python-nomad's Requester, against a small HTTP server standing in for Nomad."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from nomadtest.api.client import NomadAPIError, NomadClient, api_path, timed_requests


class FakeNomadAPI(BaseHTTPRequestHandler):
    """Answers like Nomad: JSON with an index header, 404 text for unknown jobs; records what it got."""

    seen: ClassVar[list[tuple[str, str, dict]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        FakeNomadAPI.seen.append((self.command, self.path, {"token": self.headers.get("X-Nomad-Token"), "body": body}))
        if "missing" in self.path:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"job not found")
            return
        payload = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("X-Nomad-Index", "42")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def nomad() -> Iterator[str]:
    FakeNomadAPI.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNomadAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_blocking_query_sends_index_and_wait_and_reads_the_new_index(nomad):
    answer = NomadClient(nomad).blocking_get("/v1/job/web/summary", index=7, wait=2.0)
    assert answer.index == 42
    assert answer.data["path"] == "/v1/job/web/summary?index=7&wait=2000ms"


def test_quoted_paths_reach_nomad_as_they_were_built(nomad):
    NomadClient(nomad).get(api_path("job", "a?b#c", "allocations"))
    assert FakeNomadAPI.seen[-1][1] == "/v1/job/a%3Fb%23c/allocations"


def test_nomad_errors_carry_status_and_nomads_text(nomad):
    with pytest.raises(NomadAPIError, match="GET /v1/job/missing failed with HTTP 404: job not found") as raised:
        NomadClient(nomad).get("/v1/job/missing")
    assert raised.value.status == 404


def test_token_and_body_are_sent(nomad):
    NomadClient(nomad, token="secret").put("/v1/jobs", {"Job": {"ID": "x"}})
    method, _, sent = FakeNomadAPI.seen[-1]
    assert (method, sent["token"], sent["body"]) == ("PUT", "secret", {"Job": {"ID": "x"}})


def test_an_agent_that_does_not_answer_raises_the_transport_error():
    with pytest.raises(requests.ConnectionError):
        NomadClient("http://127.0.0.1:9", timeout=2).get("/v1/status/leader")


def test_a_namespaced_client_asks_in_its_namespace_unless_told_otherwise(nomad):
    client = NomadClient(nomad, namespace="e2e-1")
    client.get("/v1/jobs")
    client.get("/v1/allocations", namespace="*")
    client.get("/v1/status/leader")
    assert [path for _, path, _ in FakeNomadAPI.seen] == [
        "/v1/jobs?namespace=e2e-1",
        "/v1/allocations?namespace=%2A",
        "/v1/status/leader",
    ]


def test_timed_requests_add_up_this_threads_requests_failed_ones_too(nomad):
    client = NomadClient(nomad)
    with timed_requests() as outer:
        client.get("/v1/jobs")
        with timed_requests() as inner, pytest.raises(NomadAPIError):
            client.get("/v1/job/missing")
        other = threading.Thread(target=client.get, args=("/v1/nodes",))
        other.start()
        other.join()
    client.get("/v1/jobs")
    assert (outer.requests, inner.requests) == (2, 1)
    assert 0 < inner.seconds < outer.seconds


def test_a_direct_client_goes_past_the_environments_proxy_and_others_use_it(nomad, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert NomadClient(nomad, direct=True).get("/v1/status/leader") == {"path": "/v1/status/leader"}
    with pytest.raises(requests.exceptions.ProxyError):
        NomadClient(nomad, timeout=2).get("/v1/status/leader")
