"""Holds loopback ports open, so suites can make a port race happen on purpose.

Deprecated in 0.5.0 and removed from the package in 0.6.0: a helper of the project's own suites,
which now import ``suites/libraries/PortBlocker.py`` from its repository.
"""

import socket

from robot.api.deco import keyword, library


@library(scope="SUITE", auto_keywords=False)
class PortBlocker:
    """Binds and listens on loopback ports until released."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []

    @keyword
    def occupy_a_free_port(self) -> int:
        """*DEPRECATED in 0.5.0, removed in 0.6.0.* Binds a free 127.0.0.1 port and keeps listening on it.

        A self-test helper of this project: copy ``suites/libraries/PortBlocker.py`` if you use it.
        """
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        held.listen()
        self._sockets.append(held)
        return held.getsockname()[1]

    @keyword
    def release_occupied_ports(self) -> None:
        """*DEPRECATED in 0.5.0, removed in 0.6.0.* Closes every port this library holds."""
        while self._sockets:
            self._sockets.pop().close()
