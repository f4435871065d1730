import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from nomadtest.jobs import logs
from nomadtest.waiting import Deadline


class StreamingClient:
    """Serves scripted chunks for the log endpoint and records the parameters of each request."""

    address = "http://127.0.0.1:4646"

    def __init__(self, chunks: list[bytes], full: bytes = b"") -> None:
        self.chunks = chunks
        self.full = full
        self.requests: list[dict] = []

    def stream(self, path: str, timeout: float, **params: Any) -> Iterator[bytes]:
        self.requests.append(dict(params, path=path))
        if params.get("follow") == "true":
            yield from self.chunks
        elif params.get("origin") == "end":
            yield self.full[-params["offset"] :]
        else:
            yield self.full


def frame(data: bytes) -> bytes:
    return json.dumps({"Data": base64.b64encode(data).decode(), "File": "alloc/logs/app.stdout.0"}).encode()


HEARTBEAT = b"{}"


def test_complete_log_is_read_plain_from_the_start_without_following():
    text = "é" * 10
    client = StreamingClient([], full=text.encode())
    assert logs.read_log(client, "a1", "app", "stderr") == text
    assert client.requests == [
        {
            "path": "/v1/client/fs/logs/a1",
            "task": "app",
            "type": "stderr",
            "plain": "true",
            "follow": "false",
            "origin": "start",
            "offset": 0,
        }
    ]


def test_invalid_bytes_are_replaced_not_fatal():
    assert logs.read_log(StreamingClient([], full=b"ok \xff\n"), "a1", "app") == "ok \ufffd\n"


def test_stream_name_is_checked():
    with pytest.raises(ValueError, match="'stdout' or 'stderr', not 'stdin'"):
        logs.read_log(StreamingClient([]), "a1", "app", "stdin")


def test_tail_reads_the_end_and_drops_the_cut_first_line():
    full = b"".join(b"line %d %s\n" % (number, b"x" * 1000) for number in range(200))
    client = StreamingClient([], full=full)
    tail = logs.tail_log(client, "a1", "app", lines=3)
    assert [line.split()[1] for line in tail] == ["197", "198", "199"]
    assert client.requests[0]["origin"] == "end" and client.requests[0]["offset"] == logs.TAIL_BYTES
    short = logs.tail_log(StreamingClient([], full=b"a\nb\n"), "a1", "app", lines=20)
    assert short == ["a", "b"]


def test_plain_text_is_found_across_chunk_boundaries():
    matcher = logs.Matcher("Started in")
    text = "booting\nStar"
    assert matcher.search(text) is None
    text += "ted in 2 s\nnext\n"
    found = matcher.search(text, start=len("booting\nStar"))
    assert found == logs.Match("Started in", "Started in 2 s")


def test_regexp_sees_only_complete_lines_while_following():
    matcher = logs.Matcher(r"port (\d+)$", regexp=True)
    assert matcher.search("listening on port 80", complete_lines=True) is None
    found = matcher.search("listening on port 8080\n", complete_lines=True)
    assert found == logs.Match("port 8080", "listening on port 8080")
    assert matcher.searched_until("a\nb") == 2


def test_follow_decodes_frames_split_anywhere_and_returns_the_line():
    stream = frame(b"first line\n") + HEARTBEAT + frame("café ready\n".encode())
    # Split inside a JSON frame, and the UTF-8 of "é" across two frames.
    chunks = [stream[:7], stream[7:40], stream[40:]]
    client = StreamingClient(chunks)
    found = logs.follow_log(client, "a1", "app", "stdout", logs.Matcher("ready"), Deadline(5), lambda: False)
    assert found.lines == "café ready"
    assert client.requests[0]["follow"] == "true" and "plain" not in client.requests[0]


def test_follow_fails_at_once_when_the_task_is_dead_without_the_text():
    client = StreamingClient([frame(b"hello\n"), HEARTBEAT, HEARTBEAT], full=b"hello\nbye\n")
    with pytest.raises(logs.LogWaitError) as failure:
        logs.follow_log(client, "a1", "app", "stdout", logs.Matcher("ready"), Deadline(30), lambda: True)
    assert str(failure.value) == "does not contain 'ready' and the task is dead"
    assert failure.value.text == "hello\nbye\n"


def test_follow_finds_text_written_just_before_the_task_died():
    client = StreamingClient([HEARTBEAT], full=b"ready\n")
    found = logs.follow_log(client, "a1", "app", "stdout", logs.Matcher("ready"), Deadline(5), lambda: True)
    assert found.text == "ready"


def test_follow_gives_up_at_the_deadline_with_the_text_seen():
    client = StreamingClient([frame(b"one\n"), HEARTBEAT, frame(b"two\n"), HEARTBEAT])
    with pytest.raises(logs.LogWaitError) as failure:
        logs.follow_log(client, "a1", "app", "stdout", logs.Matcher("three"), Deadline(0), lambda: False)
    assert str(failure.value) == "did not contain 'three' within 0 seconds"
    assert failure.value.text == "one\n"


def test_broken_stream_is_reported():
    class Broken(StreamingClient):
        def stream(self, path, timeout, **params):
            yield frame(b"partial\n")
            raise requests.ConnectionError("read timed out")

    with pytest.raises(logs.LogWaitError, match="could not be followed: read timed out") as failure:
        logs.follow_log(Broken([]), "a1", "app", "stdout", logs.Matcher("x"), Deadline(5), lambda: False)
    assert failure.value.text == "partial\n"
