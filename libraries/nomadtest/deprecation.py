"""Keywords kept for one minor release after they were replaced: they say so once per run, not on every call.

Robot Framework's own ``*DEPRECATED*`` marker warns on every call; a keyword that teardowns call
would then warn once per test and bury the run's other warnings.
"""

from __future__ import annotations

from robot.api import logger

_warned: set[str] = set()


def warn_once(keyword: str, since: str, removal: str, instead: str) -> bool:
    """Warn that ``keyword`` is deprecated, the first time it is used in this process; True when it warned."""
    if keyword in _warned:
        return False
    _warned.add(keyword)
    logger.warn(
        f"Keyword '{keyword}' is deprecated since {since} and will be removed in {removal}: {instead} "
        "(warned once per run)."
    )
    return True
