import http.client
import re
import time
from pathlib import Path

import pytest

from nomadtest.host import runroot
from nomadtest.jobs.artifacts import ArtifactHTTPServer, ArtifactServers, Fault, RequestScope, copy_into, sha256_of


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "app.jar").write_bytes(b"x" * 200_000)
    served = ArtifactHTTPServer(tmp_path)
    served.start()
    yield served
    served.stop()


def get(server: ArtifactHTTPServer, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/" + path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def recorded(server: ArtifactHTTPServer, path: str) -> list:
    """The requests for ``path``: the server waits for those still being answered."""
    requests = server.requests(path)
    assert requests, f"no request for {path} recorded"
    return requests


def test_serves_files_and_records_requests(server):
    assert get(server, "app.jar") == (200, b"x" * 200_000)
    [request] = server.requests("app.jar")
    assert (request.status, request.bytes_sent, request.complete) == (200, 200_000, True)


def test_unknown_path_is_404_and_paths_cannot_escape_the_root(server):
    assert get(server, "missing.jar")[0] == 404
    assert get(server, "../../etc/passwd")[0] == 404


def test_first_requests_fail_then_succeed(server):
    server.set_fault("app.jar", Fault(fail_first=2))
    assert [get(server, "app.jar")[0] for _ in range(3)] == [503, 503, 200]


def test_connection_dropped_after_n_bytes(server):
    server.set_fault("app.jar", Fault(drop_after=1000))
    with pytest.raises(http.client.IncompleteRead):
        get(server, "app.jar")
    [request] = recorded(server, "app.jar")
    assert (request.bytes_sent, request.complete) == (1000, False)


def test_wrong_content_keeps_the_length_of_what_it_serves(server):
    server.set_fault("app.jar", Fault(wrong_content=b"not the jar"))
    assert get(server, "app.jar") == (200, b"not the jar")


def test_delay_and_bandwidth_slow_the_response(server):
    server.set_fault("app.jar", Fault(delay=0.3, bandwidth=1_000_000))
    started = time.monotonic()
    assert get(server, "app.jar")[0] == 200
    assert time.monotonic() - started >= 0.45


def test_copy_into_and_checksum(tmp_path: Path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    copied = copy_into(tmp_path / "served", source, "nested/copy.bin")
    assert copied.read_bytes() == b"abc"
    assert sha256_of(copied) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_client_hanging_up_during_a_delay_is_recorded_without_an_answer(server, capsys):
    server.set_fault("app.jar", Fault(delay=0.5))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.1)
    connection.request("GET", "/app.jar")
    with pytest.raises(TimeoutError):
        connection.getresponse()
    connection.close()
    [request] = recorded(server, "app.jar")
    assert (request.status, request.bytes_sent, request.complete) == (499, 0, False)
    assert "Traceback" not in capsys.readouterr().err


def test_requests_still_being_answered_are_waited_for(server):
    server.set_fault("app.jar", Fault(bandwidth=400_000))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/app.jar")
    response = connection.getresponse()
    # The answer takes about half a second: the count includes it once it is done.
    [request] = server.requests("app.jar")
    assert (request.status, request.bytes_sent, request.complete) == (200, 200_000, True)
    assert response.read() == b"x" * 200_000
    connection.close()


def test_waiting_for_requests_is_bounded(server):
    server.set_fault("app.jar", Fault(delay=1))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/app.jar")
    started = time.monotonic()
    assert server.requests("app.jar", settle=0.2) == []
    assert time.monotonic() - started < 1
    assert connection.getresponse().status == 200
    connection.close()


def test_every_recorded_status_is_a_plain_int(server):
    get(server, "app.jar")
    get(server, "missing.jar")
    assert [type(request.status) for request in server.requests()] == [int, int]


def test_cleared_requests_are_forgotten_but_a_fault_keeps_counting(server):
    server.set_fault("app.jar", Fault(fail_first=1))
    assert get(server, "app.jar")[0] == 503
    server.clear_requests()
    assert server.requests("app.jar") == []
    assert get(server, "app.jar")[0] == 200
    assert [request.status for request in server.requests("app.jar")] == [200]


def test_requests_can_be_counted_from_a_moment_on(server):
    get(server, "app.jar")
    began = time.monotonic()
    get(server, "app.jar")
    assert len(server.requests("app.jar")) == 2
    assert len(server.requests("app.jar", since=began)) == 1


def test_servers_count_the_running_tests_requests_unless_asked_for_all(tmp_path, monkeypatch):
    monkeypatch.setattr(runroot, "run_root", lambda: tmp_path)
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / "app.jar").write_bytes(b"jar")
    servers = ArtifactServers()
    served = servers.start("artifacts", 0, tmp_path / "jars", "Suite")
    try:
        get(served.server, "app.jar")
        scope = RequestScope(servers)
        scope.start_test(None, None)
        get(served.server, "app.jar")
        assert len(servers.requests("artifacts", "app.jar", "test")) == 1
        assert len(servers.requests("artifacts", "app.jar", "all")) == 2
        servers.check_requested("artifacts", "app.jar", 1, 200, "test")
        with pytest.raises(AssertionError, match=r"requested 2 time\(s\); requests seen: 200 \(3 bytes\)\."):
            servers.check_requested("artifacts", "app.jar", 2, None, "test")
        with pytest.raises(ValueError, match=re.escape("Request scope must be one of test, all, not 'suite'.")):
            servers.requests("artifacts", None, "suite")
        scope.end_test(None, None)
        assert len(servers.requests("artifacts", "app.jar", "test")) == 2
    finally:
        servers.release(None)
