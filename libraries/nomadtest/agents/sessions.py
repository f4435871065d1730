"""RequestsLibrary sessions for the agents, so suites can make raw API calls beside the keywords.

Each agent gets a session named after it, and ``nomad`` names the session of the agent keywords
use by default (the one started last). Only suites that import RequestsLibrary get them.
"""

from __future__ import annotations

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from nomadtest.api.tokens import TokenAdapter
from nomadtest.registry import REGISTRY, Agent

CURRENT = "nomad"
# Seconds a raw call may take; blocking queries made through a session should ask for less.
SESSION_TIMEOUT = 30


def _requests_library():
    try:
        return BuiltIn().get_library_instance("RequestsLibrary")
    except (RuntimeError, RobotNotRunningError):
        return None


def open_for(agent: Agent) -> None:
    """Sessions ``<agent name>`` and ``nomad`` with the agent's base URL, token and namespace.

    The token is no default header, which RequestsLibrary would log with the session and each request:
    an adapter for the agent's address adds it as each request leaves.
    """
    library = _requests_library()
    if library is None:
        return
    verify = agent.attached.tls.verify if agent.attached is not None else False
    for alias in (agent.name, CURRENT):
        session = library.create_session(alias, agent.address, timeout=SESSION_TIMEOUT, max_retries=0, verify=verify)
        if agent.token is not None:
            session.mount(f"{agent.address}/", TokenAdapter(agent.token))
        if agent.namespace:
            # Raw calls of an attachment to an external cluster see its test namespace, as the keywords do.
            session.params = {"namespace": agent.namespace}


def point_current_at_latest() -> None:
    """After a stop, ``nomad`` goes on naming the agent keywords use by default, if any is left."""
    agents = REGISTRY.agents()
    if agents:
        open_for(agents[-1])


def use(name: str) -> str | None:
    """Make agent ``name`` the one keywords use when none is named (and ``nomad`` its session); the previous one."""
    agents = REGISTRY.agents()
    previous = agents[-1].name if agents else None
    agent = REGISTRY.find(name)
    REGISTRY.make_default(agent)
    open_for(agent)
    return previous
