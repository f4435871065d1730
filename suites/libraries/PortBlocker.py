"""Holds loopback ports open, so suites can make a port race happen on purpose.

A helper of this project's own suites, kept under suites/ so that the package does not ship it.
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
        """Binds a free 127.0.0.1 port and keeps listening on it; returns the port.

        | ${port}=    Occupy A Free Port
        """
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        held.listen()
        self._sockets.append(held)
        return held.getsockname()[1]

    @keyword
    def release_occupied_ports(self) -> None:
        """Closes every port this library holds."""
        while self._sockets:
            self._sockets.pop().close()
