"""Task logs through Nomad's ``/v1/client/fs/logs`` endpoint.

Nomad writes each stream to rotated files (``<task>.stdout.0``, ``.1``...). Without ``follow`` the
endpoint reads every file that exists when the request starts, in order, so one plain request
returns the whole retained log. Following uses the framed (JSON) form instead of the plain one: its
heartbeat frames arrive every second, which lets a wait check its deadline and the task's state
while the task is silent.
"""

from __future__ import annotations

import base64
import codecs
import difflib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from nomadtest.api.client import NomadAPIError, NomadClient, api_path
from nomadtest.jobs import lookup
from nomadtest.waiting import Deadline

STREAMS = ("stdout", "stderr")
# Idle time after which a silent non-follow read is considered stuck; a followed stream has
# heartbeats every second, so this only trips on a dead connection.
READ_TIMEOUT = 30.0
# Bytes read from the end of a log to show its last lines in failure messages.
TAIL_BYTES = 64 * 1024
# How far back into already-seen text a regexp search restarts when new text arrives, so that
# matches spanning two frames are found without rescanning a large log on every frame.
REGEXP_OVERLAP = 64 * 1024


def check_stream(stream: str) -> str:
    if stream not in STREAMS:
        raise ValueError(f"Log stream must be 'stdout' or 'stderr', not '{stream}'.")
    return stream


def _path(alloc_id: str) -> str:
    return api_path("client", "fs", "logs", alloc_id)


def _read(client: NomadClient, alloc_id: str, task: str, stream: str, origin: str, offset: int) -> bytes:
    """The plain log bytes from ``offset`` counted from ``origin`` (start or end), without following."""
    chunks = client.stream(
        _path(alloc_id),
        timeout=READ_TIMEOUT,
        task=task,
        type=check_stream(stream),
        plain="true",
        follow="false",
        origin=origin,
        offset=offset,
    )
    return b"".join(chunks)


def read_log(client: NomadClient, alloc_id: str, task: str, stream: str = "stdout") -> str:
    """The complete retained log of ``task``, across rotated files, decoded as UTF-8."""
    return _read(client, alloc_id, task, stream, "start", 0).decode("utf-8", errors="replace")


def tail_log(client: NomadClient, alloc_id: str, task: str, stream: str = "stdout", lines: int = 20) -> list[str]:
    """The last ``lines`` lines of the log, reading only its end."""
    data = _read(client, alloc_id, task, stream, "end", TAIL_BYTES)
    text = data.decode("utf-8", errors="replace").splitlines()
    if len(data) >= TAIL_BYTES and text:
        text = text[1:]  # the first line was cut by the byte offset
    return text[-lines:] if lines > 0 else []


def safe_tail(client: NomadClient, alloc_id: str, task: str, stream: str, lines: int) -> str:
    """The last lines of a log for a report, or why they cannot be shown; never raises."""
    try:
        tail = tail_log(client, alloc_id, task, stream, lines)
    except NomadAPIError as error:
        return f"(not available: {error.body})"
    except requests.RequestException as error:
        return f"(not available: {error})"
    return "\n".join(tail) if tail else "(empty)"


@dataclass
class Match:
    """Where the awaited text appeared: the matched text and the complete line(s) containing it."""

    text: str
    lines: str


class Matcher:
    """Finds a plain substring or a regular expression in text that keeps growing."""

    def __init__(self, expected: str, regexp: bool = False) -> None:
        self.expected = expected
        self.regexp = re.compile(expected, re.MULTILINE) if regexp else None
        self.description = f"regexp '{expected}'" if regexp else f"'{expected}'"

    def search(self, text: str, start: int = 0, complete_lines: bool = False) -> Match | None:
        """Search ``text`` from about ``start``, the end of the previous search.

        With ``complete_lines`` a regexp only sees text up to the last newline, so that a pattern
        anchored at a line's end does not match a line still being written.
        """
        end = text.rfind("\n") + 1 if complete_lines and self.regexp else len(text)
        if self.regexp:
            found = self.regexp.search(text, max(start - REGEXP_OVERLAP, 0), end)
            if not found:
                return None
            begin, stop = found.span()
        else:
            begin = text.find(self.expected, max(start - len(self.expected) + 1, 0), end)
            if begin < 0:
                return None
            stop = begin + len(self.expected)
        line_start = text.rfind("\n", 0, begin) + 1
        line_end = text.find("\n", max(stop, begin + 1) - 1)
        return Match(text[begin:stop], text[line_start : line_end if line_end >= 0 else len(text)])

    def searched_until(self, text: str) -> int:
        """Where the last ``search(text, complete_lines=True)`` stopped looking."""
        return text.rfind("\n") + 1 if self.regexp else len(text)


class LogWaitError(AssertionError):
    """The text did not appear; the message continues a sentence about the log, ``text`` is what was read."""

    ROBOT_SUPPRESS_NAME = True

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def follow_log(
    client: NomadClient,
    alloc_id: str,
    task: str,
    stream: str,
    matcher: Matcher,
    deadline: Deadline,
    task_is_dead: Callable[[], bool],
) -> Match:
    """Follow the log from its start until ``matcher`` finds its text.

    Raises :class:`LogWaitError` carrying the text seen when the deadline passes, or as soon as
    the task is dead and its complete log does not contain the text.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = ""
    searched = 0
    try:
        for frame in _frames(client, alloc_id, task, stream):
            data = frame.get("Data")
            if data:
                text += decoder.decode(base64.b64decode(data))
                found = matcher.search(text, searched, complete_lines=True)
                if found:
                    return found
                searched = matcher.searched_until(text)
            elif frame.get("FileEvent") == "file truncated":
                text, searched = "", 0
            elif task_is_dead():
                # Heartbeats only come when nothing is pending, so the log is complete now; read
                # it once more in full in case a frame raced with the task's end.
                text = read_log(client, alloc_id, task, stream)
                found = matcher.search(text)
                if found:
                    return found
                raise LogWaitError(f"does not contain {matcher.description} and the task is dead", text)
            if deadline.expired:
                break
    except requests.RequestException as error:
        raise LogWaitError(f"could not be followed: {error}", text) from None
    raise LogWaitError(f"did not contain {matcher.description} within {deadline}", text)


def _frames(client: NomadClient, alloc_id: str, task: str, stream: str) -> Iterator[dict]:
    """Decode the stream of concatenated JSON frames, whatever the HTTP chunk boundaries."""
    decoder = json.JSONDecoder()
    buffer = ""
    chunks = client.stream(
        _path(alloc_id),
        timeout=READ_TIMEOUT,
        task=task,
        type=check_stream(stream),
        follow="true",
        origin="start",
        offset=0,
    )
    for chunk in chunks:
        buffer += chunk.decode("utf-8")  # frames are JSON with base64 data: always ASCII
        while buffer:
            buffer = buffer.lstrip()
            try:
                frame, end = decoder.raw_decode(buffer)
            except json.JSONDecodeError:
                break  # an incomplete frame: wait for the rest
            buffer = buffer[end:]
            yield frame


def read_task_log(
    client: NomadClient, job_id: str, stream: str, task: str | None, alloc_id: str | None
) -> tuple[str, str]:
    """The task's complete log (allocation given or latest), and how to name it in messages."""
    check_stream(stream)
    alloc = lookup.select_allocation(client, job_id, alloc_id)
    name = lookup.resolve_task(alloc, task)
    try:
        text = read_log(client, alloc["ID"], name, stream)
    except NomadAPIError as error:
        raise AssertionError(
            f"Cannot read {stream} of task '{name}' in allocation {lookup.short(alloc['ID'])}: {error.body}"
        ) from None
    return text, f"{stream.capitalize()} of task '{name}' (allocation {lookup.short(alloc['ID'])})"


def last_lines_note(text: str, lines: int = 20) -> str:
    """``Last N lines:`` and the lines, for failure messages."""
    tail = text.splitlines()[-lines:]
    return f"Last {len(tail)} lines:\n" + "\n".join(tail) if tail else "The log is empty."


def closest_line(text: str, wanted: str) -> str | None:
    """The line of ``text`` most like ``wanted``, for a failure that says what was seen instead."""
    found = difflib.get_close_matches(wanted, text.splitlines()[-10000:], n=1, cutoff=0.6)
    return found[0] if found else None
