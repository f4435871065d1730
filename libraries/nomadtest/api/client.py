"""The one HTTP client of Nomad's API used by every library, on python-nomad's ``Requester``.

Nomad's blocking queries (``?index=N&wait=Ns``, answered with ``X-Nomad-Index``)
let waits return as soon as state changes instead of polling on a fixed sleep.
python-nomad's endpoint classes have no parameters for them and return only the
decoded body, so this client sends every request, the streaming ones included,
through python-nomad's lower ``Requester`` (address, token, session, its error
types) and reads the index from the response it hands back.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from nomad.api.base import Requester
from nomad.api.exceptions import BaseNomadException
from robot.api.types import Secret

from nomadtest.api.tokens import as_secret, reveal

DEFAULT_REQUEST_TIMEOUT = 30.0


def api_path(*segments: Any) -> str:
    """``/v1/<segment>/...`` with each segment quoted: job ids may hold ``?``, ``#`` or ``/``."""
    return "/v1/" + "/".join(quote(str(segment), safe="") for segment in segments)


class NomadAPIError(Exception):
    """Nomad answered with an error status; the message carries Nomad's own text."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        self.body = body.strip()
        super().__init__(f"{method} {path} failed with HTTP {status}: {self.body}")


@dataclass(frozen=True)
class Blocking:
    """The answer of a blocking query: the data and the index to wait from next."""

    data: Any
    index: int


class RequestTimer:
    """The seconds this thread spent in Nomad's API calls (sending, Nomad's work, the answer) and how many."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.requests = 0


_timers = threading.local()


@contextlib.contextmanager
def timed_requests() -> Iterator[RequestTimer]:
    """Adds up the requests this thread makes, with any client, while the block runs.

    What the framework spends on its own in a call is the call's time less this: the bench's
    reference for the framework's overhead, measured in the same call.
    """
    timer = RequestTimer()
    active = getattr(_timers, "active", None)
    if active is None:
        active = _timers.active = []
    active.append(timer)
    try:
        yield timer
    finally:
        active.remove(timer)


def _count_request(seconds: float) -> None:
    for timer in getattr(_timers, "active", ()):
        timer.seconds += seconds
        timer.requests += 1


class _PathRequester(Requester):
    """python-nomad's requester for paths built whole by :func:`api_path` (already quoted)."""

    def _endpoint_builder(self, *args: str) -> str:
        return "/".join(arg for arg in args if arg).lstrip("/")


@dataclass(frozen=True)
class TLS:
    """How to reach an HTTPS agent, as the Nomad CLI's ``NOMAD_CACERT`` and friends say."""

    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    skip_verify: bool = False

    @property
    def verify(self) -> bool | str:
        return False if self.skip_verify else (self.ca_cert or True)

    @property
    def cert(self) -> tuple[str, str] | tuple[()]:
        return (self.client_cert, self.client_key) if self.client_cert and self.client_key else ()


class NomadClient:
    """A thin client of one Nomad agent's HTTP API; ``token`` (a Secret, or a plain string) is sent
    as ``X-Nomad-Token`` and nowhere else.

    With ``namespace``, job, allocation and client requests that name no namespace of their own
    are made in it (python-nomad adds the parameter). A ``direct`` client (of an agent this run
    started, on loopback or in a namespace of its own) ignores the environment's proxy settings:
    no proxy can reach such an agent, and reading them costs each request a walk of the environment.
    """

    def __init__(
        self,
        address: str,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token: Secret | str | None = None,
        namespace: str | None = None,
        tls: TLS | None = None,
        region: str | None = None,
        direct: bool = False,
    ) -> None:
        self.address = address.rstrip("/")
        self.timeout = timeout
        self.namespace = namespace or None
        tls = tls or TLS()
        self._requester = _PathRequester(
            address=self.address,
            token=reveal(as_secret(token)),
            timeout=timeout,
            namespace=self.namespace,
            verify=tls.verify,
            cert=tls.cert,
            region=region or None,
        )
        self._requester.session.trust_env = not direct

    def __repr__(self) -> str:
        return f"NomadClient({self.address!r})"

    def close(self) -> None:
        self._requester.session.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | tuple[float, float] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request; Nomad's error statuses raise :class:`NomadAPIError`, transport errors
        the ``requests`` exception itself (python-nomad wraps both)."""
        began = time.perf_counter()
        try:
            return self._requester.request(
                path,
                method=method,
                params=dict(params or {}),
                data=None if body is None else json.dumps(body),
                timeout=timeout or self.timeout,
                stream=stream,
            )
        except BaseNomadException as error:
            answer = error.nomad_resp
            if isinstance(answer, requests.Response):
                raise NomadAPIError(method, path, answer.status_code, answer.text) from None
            raise answer from None
        finally:
            _count_request(time.perf_counter() - began)

    def get(self, path: str, **params: Any) -> Any:
        return _decode(self.request("GET", path, params=params or None))

    def put(self, path: str, body: Any = None, **params: Any) -> Any:
        return _decode(self.request("PUT", path, params=params or None, body=body))

    def delete(self, path: str, **params: Any) -> Any:
        return _decode(self.request("DELETE", path, params=params or None))

    def blocking_get(self, path: str, index: int = 0, wait: float = 5.0, **params: Any) -> Blocking:
        """GET ``path`` once the data changes past ``index``, or after ``wait`` seconds."""
        query = dict(params, index=index, wait=f"{max(int(wait * 1000), 1)}ms")
        # Nomad adds up to wait/16 of jitter; allow for it and for a slow agent.
        response = self.request("GET", path, params=query, timeout=wait * 1.2 + self.timeout)
        return Blocking(_decode(response), int(response.headers.get("X-Nomad-Index", index)))

    def stream(self, path: str, timeout: float, **params: Any) -> Iterator[bytes]:
        """Yield raw chunks of a streaming endpoint; read timeouts end the stream."""
        with self.request("GET", path, params=params, timeout=(self.timeout, timeout), stream=True) as response:
            yield from response.iter_content(chunk_size=65536)


def _decode(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
