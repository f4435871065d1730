"""ACL tokens held as Robot Framework's ``Secret``: sent to Nomad, never written to a log.

Keywords take a token as a ``Secret`` (``${TOKEN: Secret}    %{NOMAD_TOKEN}``) or, as before Robot
Framework 7.4, a plain string; inside, it is a ``Secret`` from then on, whose ``str`` and ``repr``
are ``<secret>``. RequestsLibrary logs each request's headers, so the sessions of an agent get the
token from :class:`TokenAdapter` as the request leaves, and the request it logs says ``<secret>``.
"""

from __future__ import annotations

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from robot.api.types import Secret

HEADER = "X-Nomad-Token"


def as_secret(token: Secret | str | None) -> Secret | None:
    """The token as a Secret, whether given as one or as a plain string; None when there is none."""
    if isinstance(token, Secret):
        return token if token.value else None
    return Secret(token) if token else None


def reveal(token: Secret | None) -> str | None:
    """The token's value, for the one place it is sent: the ``X-Nomad-Token`` header."""
    return token.value if token is not None else None


class TokenAdapter(HTTPAdapter):
    """Sends ``X-Nomad-Token`` with each request of a session; the request the response keeps (and
    RequestsLibrary logs) carries ``<secret>`` in its place."""

    def __init__(self, token: Secret, **kwargs) -> None:
        super().__init__(**kwargs)
        self._token = token

    def send(self, request: PreparedRequest, **kwargs) -> Response:
        wire = request.copy()
        wire.headers[HEADER] = self._token.value
        response = super().send(wire, **kwargs)
        request.headers[HEADER] = str(self._token)
        response.request = request
        return response
