"""Keywords that read and check agent logs, and put them into log.html when a test fails."""

from __future__ import annotations

import html
import shutil
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest import agentlog
from nomadtest.library import ASSERTION, FORENSICS, QUERY, WAIT, LibraryComponent
from nomadtest.registry import REGISTRY
from nomadtest.waiting import Deadline, Done


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
        self, text: str, agent: str | None = None, timeout: timedelta = timedelta(seconds=30)
    ) -> None:
        """Waits until the agent's log contains ``text``; on timeout fails with the last log lines.

        Example:
        | `Wait Until Nomad Agent Log Contains` | node registration complete | timeout=20s |
        """
        path = self.library.manager.log_path(agent)
        deadline = Deadline(timeout)
        if not isinstance(agentlog.wait_until_contains(path, text, deadline), Done):
            raise AssertionError(
                f"Log {path} did not contain '{text}' within {deadline}. Last lines:\n{agentlog.tail(path)}"
            )

    @keyword(tags=[FORENSICS])
    def capture_nomad_forensics(self, agent: str | None = None, lines: int = 50, level: str = "INFO") -> None:
        """Writes the tail of agent logs into the log file and links a full copy kept in the results.

        Without ``agent``, every running agent is captured. The tail leaves out the agent's
        records of the framework's own HTTP requests. A failed test gets this by itself; call
        it to capture an agent at another moment.

        Example:
        | `Capture Nomad Forensics` | | |
        | `Capture Nomad Forensics` | client-1 | lines=200 |
        """
        manager = self.library.manager
        targets = [REGISTRY.find(agent)] if agent else REGISTRY.agents()
        for target in targets:
            copy = manager.log_copy_path(target)
            try:
                copy.parent.mkdir(parents=True, exist_ok=True)
                if target.log_path.exists():
                    shutil.copyfile(target.log_path, copy)
                kept = f"full log: {manager.link(copy)}"
            except OSError as error:
                kept = f"no copy of the full log ({html.escape(str(error))}): {html.escape(str(target.log_path))}"
            state = "running" if target.is_running else "not running"
            text = agentlog.tail(target.log_path, None)
            tail = html.escape("\n".join(agentlog.quiet_lines(text, lines)))
            logger.write(
                f"Nomad agent '{target.name}' ({target.role}, {state}, {target.address}); "
                f"{kept}<br>Last {lines} lines (HTTP request records left out):"
                f'<pre style="white-space: pre-wrap">{tail}</pre>',
                level=level,
                html=True,
            )
