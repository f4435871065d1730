"""Client nodes as the servers see them: finding an agent's node and judging its driver's health."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from nomadtest.api.client import NomadClient, api_path

EPOCH = "1970-01-01T00:00:00Z"


class NodeNotFoundError(AssertionError):
    ROBOT_SUPPRESS_NAME = True


def parse_time(value: str) -> float:
    """Seconds since the epoch of a Nomad RFC 3339 timestamp (nanoseconds are cut to micro)."""
    head, _, fraction = value.rstrip("Z").partition(".")
    stamp = datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]}+00:00")
    return stamp.timestamp()


def node_ids(client: NomadClient, names: Iterable[str]) -> dict[str, str]:
    """Node id by node name, for the names that have registered."""
    wanted = set(names)
    return {node["Name"]: node["ID"] for node in client.get("/v1/nodes") or [] if node["Name"] in wanted}


def node_id(client: NomadClient, name: str) -> str:
    found = node_ids(client, [name])
    if name not in found:
        raise NodeNotFoundError(f"Nomad agent '{name}' has not registered its node.")
    return found[name]


def get_node(client: NomadClient, name: str) -> dict:
    return client.get(api_path("node", node_id(client, name)))


def driver_info(node: dict | None, driver: str) -> dict | None:
    return ((node or {}).get("Drivers") or {}).get(driver)


def driver_healthy_since(node: dict | None, driver: str, since: float) -> bool:
    """Detected and healthy in a fingerprint taken at or after ``since``.

    After a restart or a plugin crash the servers still show the driver as it was; only a
    fingerprint taken by the new process counts.
    """
    info = driver_info(node, driver)
    if not info or not (info.get("Detected") and info.get("Healthy")):
        return False
    return parse_time(info.get("UpdateTime") or EPOCH) >= since


def describe_driver(node: dict | None, driver: str) -> str:
    info = driver_info(node, driver)
    if not info:
        return f"driver '{driver}' not fingerprinted"
    return (
        f"driver '{driver}' detected={info.get('Detected')} healthy={info.get('Healthy')}: "
        f"{info.get('HealthDescription') or '(no health description)'}, fingerprinted {info.get('UpdateTime')}"
    )
