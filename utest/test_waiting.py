"""The one waiting primitive: deadlines and the poll loop."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from robot.running import TestSuite as RunningSuite

from nomadtest import waiting
from nomadtest.listener import TimeoutNet
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


@pytest.fixture
def bounds():
    """Leaves the library-wide timeout and the test bound as they were."""
    previous = waiting.set_nomad_timeout(waiting.DEFAULT_NOMAD_TIMEOUT)
    yield
    waiting.set_nomad_timeout(previous)
    waiting.bound_test(None)


def test_no_timeout_is_the_library_wide_one_times_the_keywords_factor(bounds):
    assert Deadline(None).seconds == 60
    assert waiting.set_nomad_timeout(timedelta(minutes=3)) == 60
    assert Deadline(None).seconds == 180
    assert waiting.resolve(None, 0.5) == timedelta(seconds=90)
    assert waiting.resolve(timedelta(seconds=5), 0.5) == timedelta(seconds=5)
    with pytest.raises(ValueError, match="A timeout cannot be negative"):
        waiting.set_nomad_timeout(-1)


def test_a_wait_in_a_test_body_ends_before_the_tests_timeout_and_says_so(bounds):
    waiting.bound_test(40)
    deadline = Deadline(timedelta(minutes=1))
    assert deadline.cut and deadline.seconds in (37, 38)
    assert str(deadline).endswith("(all the test's timeout left of the 1 minute asked)")
    assert not Deadline(10).cut


def test_a_teardown_and_a_test_without_timeout_are_not_cut(bounds):
    waiting.bound_test(40, in_teardown=lambda: True)
    assert Deadline(60).seconds == 60
    waiting.bound_test(None)
    assert Deadline(600).seconds == 600


def test_the_safety_net_gives_tests_without_a_timeout_the_run_bound_and_bounds_waits(bounds):
    suite = RunningSuite(name="Suite")
    suite.tests.create(name="Own", timeout="10 seconds")
    suite.tests.create(name="None")
    net = TimeoutNet(300)
    net.start_suite(suite, None)
    assert [test.timeout for test in suite.tests] == ["10 seconds", "5 minutes"]
    net.start_test(suite.tests[0], suite.tests[0])
    assert Deadline(60).seconds <= 8
    net.end_test(suite.tests[0], suite.tests[0])
    assert Deadline(60).seconds == 60
    unbounded = RunningSuite(name="Other")
    unbounded.tests.create(name="None")
    TimeoutNet(None).start_suite(unbounded, None)
    assert unbounded.tests[0].timeout is None
