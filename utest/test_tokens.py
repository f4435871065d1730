"""ACL tokens as Robot Framework Secrets: sent to Nomad, never in what is logged."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from robot.api.types import Secret

from nomadtest.api.client import NomadClient
from nomadtest.api.tokens import HEADER, TokenAdapter, as_secret, reveal
from nomadtest.registry import Agent

TOKEN = "6f1c6a0e-secret-of-the-test"


def test_plain_strings_still_work_and_become_secrets():
    assert as_secret(TOKEN).value == TOKEN
    given = Secret(TOKEN)
    assert as_secret(given) is given
    assert as_secret("") is None
    assert as_secret(Secret("")) is None
    assert as_secret(None) is None
    assert reveal(as_secret(TOKEN)) == TOKEN
    assert reveal(None) is None


def test_an_agent_record_shows_no_token(tmp_path):
    agent = Agent(
        name="a",
        role="server",
        http_port=1,
        rpc_port=2,
        serf_port=3,
        run_dir=tmp_path,
        config_path=tmp_path / "agent.hcl",
        log_path=tmp_path / "agent.log",
        process=None,
        driver="crunjar",
        token=Secret(TOKEN),
    )
    assert TOKEN not in repr(agent)
    assert TOKEN not in repr(agent.client)


@pytest.fixture
def echo_server():
    """An HTTP server on loopback that answers with the X-Nomad-Token header it received."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (self.headers.get(HEADER) or "").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_session_sends_the_token_and_keeps_only_its_placeholder(echo_server):
    session = requests.Session()
    session.mount(f"{echo_server}/", TokenAdapter(Secret(TOKEN)))
    response = session.get(f"{echo_server}/v1/jobs", timeout=5)
    assert response.text == TOKEN
    assert response.request.headers[HEADER] == "<secret>"
    assert TOKEN not in str(response.request.headers)


def test_the_adapter_serves_only_its_agent(echo_server):
    session = requests.Session()
    session.mount(f"{echo_server}0/", TokenAdapter(Secret(TOKEN)))
    assert session.get(f"{echo_server}/v1/jobs", timeout=5).text == ""


def test_the_client_sends_a_secret_token(echo_server):
    client = NomadClient(echo_server, token=Secret(TOKEN))
    assert client.get("/v1/acl/token/self") == TOKEN
    client.close()
