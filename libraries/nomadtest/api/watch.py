"""Blocking queries: one loop that asks Nomad again each time the answer changes, until a condition decides."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.waiting import MAX_BLOCK_SECONDS, Deadline, Outcome, Pending

# How soon an unreachable agent (restarting) is asked again.
UNREACHABLE_PAUSE = 0.1
# How soon a query is asked again when Nomad answered index 0 even to one asking it to block.
UNBLOCKABLE_PAUSE = 0.05


def watch(
    client: NomadClient,
    path: str,
    check: Callable[[Any], Any],
    deadline: Deadline,
    longest: float = MAX_BLOCK_SECONDS,
    unreachable: Callable[[Exception], Outcome] | None = None,
) -> Any:
    """Run ``check`` on each answer of a blocking query of ``path`` until it is not Pending.

    Returns the last outcome: the decisive one, or the last Pending when the deadline passed.
    ``longest`` bounds each query, for conditions that also look at something besides the API.
    With ``unreachable``, an agent that does not answer (it is restarting) is not an error: its
    outcome counts instead, and the query is tried again shortly.
    """
    index = 0
    while True:
        try:
            reply = client.blocking_get(path, index=index, wait=deadline.block_for(longest))
        except (requests.RequestException, NomadAPIError) as error:
            if unreachable is None:
                raise
            outcome = unreachable(error)
            if not isinstance(outcome, Pending) or deadline.expired:
                return outcome
            time.sleep(min(UNREACHABLE_PAUSE, deadline.remaining()))
            index = 0
            continue
        # Index 0: nothing was written there yet (the node list before the first client registers), and
        # Nomad answers index 0 at once. Asked with index 1, which no table has (raft's first entry is its
        # configuration), it blocks until the first write instead of being asked again and again.
        unblockable = reply.index == 0 and index == 1
        # Nomad's index only grows; if it ever goes back (a restored snapshot), start over.
        index = 1 if reply.index == 0 else reply.index if reply.index >= index else 0
        outcome = check(reply.data)
        if not isinstance(outcome, Pending) or deadline.expired:
            return outcome
        if unblockable:
            time.sleep(min(UNBLOCKABLE_PAUSE, deadline.remaining()))
