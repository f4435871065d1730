"""Reading an agent's log: its tail, what came after an offset, its timestamps and its notable lines.

An agent's stdout and stderr go to one ``agent.log``; a restart appends to it after a marker line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from nomadtest.agents.nodes import parse_time
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

RESTART_MARKER = "==> NomadServer: starting agent again"
_LOG_TIME = re.compile(r"^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)")
_LEVEL = re.compile(r"\[(WARN|ERROR)\]")
# The agent's own record of each HTTP request the framework makes: noise in a failure message.
_REQUEST_LINE = re.compile(r"http: request (complete|failed)|agent\.http:")


def last_lines(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def tail(path: Path, lines: int | None = 30) -> str:
    """The last ``lines`` lines of the log (all of it for None), or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text if lines is None else last_lines(text, lines)


def since_last_start(path: Path) -> str:
    """The part of the log written since the process was last (re)started."""
    text = tail(path, None)
    return text[text.rfind(RESTART_MARKER) :] if RESTART_MARKER in text else text


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_bytes_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read()
    except OSError:
        return b""


def read_from(path: Path, offset: int) -> str:
    return read_bytes_from(path, offset).decode("utf-8", errors="replace")


def lines_with(path: Path, offset: int, needles: Iterable[str]) -> list[str]:
    """Complete lines past ``offset`` that contain every one of ``needles``."""
    needles = list(needles)
    text = read_from(path, offset)
    complete = text[: text.rfind("\n") + 1]
    return [line for line in complete.splitlines() if all(needle in line for needle in needles)]


def line_time(line: str) -> float | None:
    """Seconds since the epoch of the timestamp Nomad puts at the start of a log line."""
    found = _LOG_TIME.match(line)
    return parse_time(found.group(1)) if found else None


def notable_lines(text: str, lines: int = 15) -> list[str]:
    """The last WARN and ERROR lines, and Nomad's own ``==> Error`` lines, without HTTP request records."""
    found = [
        line.rstrip()
        for line in text.splitlines()
        if (_LEVEL.search(line) or line.startswith(("==> Error", "\t* "))) and not _REQUEST_LINE.search(line)
    ]
    return found[-lines:]


def wait_until_contains(path: Path, text: str, deadline: Deadline) -> Outcome:
    """Done once the log holds ``text``, reading only what was appended since the last look."""
    seen = {"offset": 0, "carry": b""}
    wanted = text.encode()

    def check() -> Outcome:
        chunk = read_bytes_from(path, seen["offset"])
        seen["offset"] += len(chunk)
        # Keep a tail of the previous chunk so text split across two reads is still found.
        window = seen["carry"] + chunk
        if wanted in window:
            return Done()
        seen["carry"] = window[-len(wanted) :]
        return Pending("not in the log yet")

    return poll(check, deadline, interval=0.1)


def quiet_lines(text: str, lines: int = 15) -> list[str]:
    """The last ``lines`` lines without the agent's records of the framework's own HTTP requests."""
    return [line for line in text.splitlines() if not _REQUEST_LINE.search(line)][-lines:]
