"""Keywords that set what other keywords use when not told: the current agent and the wait timeout."""

from __future__ import annotations

from datetime import timedelta

from robot.api.deco import keyword
from robot.utils import secs_to_timestr

from nomadtest import waiting
from nomadtest.agents import sessions
from nomadtest.library import LIFECYCLE, LibraryComponent


class Settings(LibraryComponent):
    """The current agent and the library-wide timeout, as SeleniumLibrary's current browser and timeout."""

    @keyword(tags=[LIFECYCLE])
    def use_nomad_agent(self, name: str) -> str | None:
        """Makes agent ``name`` the current one: keywords of every library given no ``agent`` use it, and the
        RequestsLibrary session ``nomad`` points at it. Returns the name of the previous current agent.

        The agent started last is current until this is called; starting another makes that one
        current, as does stopping the current one make the last started of the rest current. A job
        keyword still talks to the agent its job was submitted to while that agent runs.

        Example:
        | `Start Nomad Server` | name=first | |
        | `Start Nomad Server` | name=second | |
        | ${previous} = | `Use Nomad Agent` | first |
        | `Driver Should Be Healthy` | | # asks 'first' |
        """
        return sessions.use(name)

    @keyword(tags=[LIFECYCLE])
    def set_nomad_timeout(self, timeout: timedelta) -> str:
        """Sets the wait timeout of every keyword of these libraries given no ``timeout``; returns the previous one.

        It starts as NomadServer's ``timeout`` import argument (1 minute by default). Keywords whose
        own default was longer or shorter keep that ratio: `Start Nomad Cluster` waits twice the
        timeout, `Wait Until Nomad Agent Log Contains` half of it; each keyword's documentation says
        so. A ``timeout`` given to a keyword always wins.

        Example:
        | ${previous} = | `Set Nomad Timeout` | 3 min |
        | `Wait For Job Status` | ${job} | running |
        | `Set Nomad Timeout` | ${previous} | |
        """
        return secs_to_timestr(waiting.set_nomad_timeout(timeout))
