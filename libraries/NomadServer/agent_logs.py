"""Keywords that read and check agent logs, and put them into log.html when a test fails."""

from __future__ import annotations

from datetime import timedelta

from robot.api.deco import keyword

from nomadtest import deprecation, failures
from nomadtest.agents import agentlog
from nomadtest.agents.manager import FORENSICS_CAPTURE
from nomadtest.library import ASSERTION, FORENSICS, QUERY, WAIT, LibraryComponent
from nomadtest.listener import current_owner
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, Done, resolve


class AgentLogs(LibraryComponent):
    """Read, check and keep agent logs."""

    @keyword(tags=[QUERY])
    def get_nomad_agent_log(self, agent: str | None = None, lines: int | None = None) -> str:
        """Returns the agent's log (stdout and stderr), or its last ``lines`` lines.

        Works for a stopped agent too, from the copy kept in the results.

        Example:
        | ${log} = | `Get Nomad Agent Log` | lines=50 |
        """
        return agentlog.tail(self.library.manager.log_path(agent), lines)

    @keyword(tags=[ASSERTION])
    def nomad_agent_log_should_contain(self, text: str, agent: str | None = None) -> None:
        """Fails unless the agent's log contains ``text``; the failure shows the last log lines.

        Example:
        | `Nomad Agent Log Should Contain` | plugin started |
        """
        path = self.library.manager.log_path(agent)
        if text not in agentlog.tail(path, None):
            raise AssertionError(f"Log {path} does not contain '{text}'. Last lines:\n{agentlog.tail(path)}")

    @keyword(tags=[WAIT])
    def wait_until_nomad_agent_log_contains(
        self, text: str, agent: str | None = None, timeout: timedelta | None = None
    ) -> None:
        """Waits until the agent's log contains ``text``; on timeout fails with the last log lines.

        ``timeout`` defaults to half the Nomad timeout (see `Set Nomad Timeout`).

        Example:
        | `Wait Until Nomad Agent Log Contains` | node registration complete | timeout=20s |
        """
        timeout = resolve(timeout, 0.5)
        path = self.library.manager.log_path(agent)
        deadline = Deadline(timeout)
        if not isinstance(agentlog.wait_until_contains(path, text, deadline), Done):
            raise AssertionError(
                f"Log {path} did not contain '{text}' within {deadline}. Last lines:\n{agentlog.tail(path)}"
            )

    @keyword(tags=[FORENSICS])
    def capture_nomad_forensics(self, agent: str | None = None, lines: int = 50, level: str = "INFO") -> None:
        """Writes the tail of agent logs into the log file and links a full copy kept in the results.

        Without ``agent``, every agent is captured. The tail leaves out the agent's records of
        the framework's own HTTP requests. A failed test gets this by itself, whatever its
        teardown does; call it to capture an agent at another moment.

        Example:
        | `Capture Nomad Forensics` | | |
        | `Capture Nomad Forensics` | client-1 | lines=200 |
        """
        if not agent:
            failures.mark_captured(current_owner(), FORENSICS_CAPTURE)
        self.library.manager.log_forensics([REGISTRY.find(agent)] if agent else REGISTRY.agents(), lines, level)

    @keyword(tags=[FORENSICS])
    def capture_forensics_if_test_failed(self) -> None:
        """Deprecated in 0.5.0, removed in 0.6.0: does nothing; remove it from your teardowns.

        A failed test gets its forensics (agent logs, its jobs' allocations, task events and task
        logs) from the libraries by itself, before any teardown stops what it started; in 0.2 this
        keyword of ``common.resource`` took them in teardowns. It warns once per run rather than
        on every call, so the warning does not repeat for every test.

        Example:
        | [Teardown] | `Capture Forensics If Test Failed` |
        """
        deprecation.warn_once(
            "Capture Forensics If Test Failed",
            "0.5.0",
            "0.6.0",
            "failed tests get their forensics by themselves, so remove it from your teardowns",
        )
