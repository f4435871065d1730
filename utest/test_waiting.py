"""The one waiting primitive: deadlines and the poll loop."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from nomadtest.waiting import Deadline, Done, Impossible, Pending, poll


def test_a_negative_timeout_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"A timeout cannot be negative, got - 1 second: give a time such as 30s"):
        Deadline(timedelta(seconds=-1))


def test_a_zero_timeout_checks_once():
    calls = []
    outcome = poll(lambda: calls.append(1) or Pending("not yet"), Deadline(0))
    assert outcome == Pending("not yet") and calls == [1]


def test_poll_returns_the_decisive_outcome_at_once():
    assert poll(lambda: Impossible("it died"), Deadline(30)) == Impossible("it died")
    answers = iter([Pending("a"), Pending("b"), Done(42)])
    assert poll(lambda: next(answers), Deadline(5), interval=0.001) == Done(42)


def test_poll_gives_up_at_the_deadline_with_what_it_last_saw():
    started = time.monotonic()
    seen = iter(range(10**6))
    outcome = poll(lambda: Pending(f"look {next(seen)}"), Deadline(0.2), interval=0.01, longest_interval=0.05)
    assert 0.2 <= time.monotonic() - started < 1
    assert isinstance(outcome, Pending) and outcome.status.startswith("look ")
