"""Attaching to a Nomad cluster this run did not start, in a namespace of its own.

With ``NOMAD_ADDR`` set (and ``NOMAD_TOKEN``, ``NOMAD_CACERT``, ``NOMAD_CLIENT_CERT``,
``NOMAD_CLIENT_KEY``, ``NOMAD_SKIP_VERIFY``, ``NOMAD_REGION`` as the Nomad CLI reads them),
``Start Nomad Server`` attaches instead of starting an agent. Each attachment creates a
namespace, runs its jobs there and, when it ends, purges them and deletes the namespace. The
namespace's meta names the host and process that own it, so a later run on the same host
deletes what a killed run left.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests
from robot.api.types import Secret

from nomadtest.agents import nodes
from nomadtest.api.client import TLS, NomadAPIError, NomadClient, api_path
from nomadtest.api.tokens import as_secret
from nomadtest.host import processes
from nomadtest.jobs import removal
from nomadtest.waiting import Deadline, Done, Outcome, Pending, poll

ADDRESS_VARIABLE = "NOMAD_ADDR"
# Namespace meta keys: who owns the namespace, so a sweep deletes only what dead runs of this host left.
OWNER_HOST = "nomad-e2e-host"
OWNER_PID = "nomad-e2e-pid"
OWNER_CREATED = "nomad-e2e-process-start"
NAMESPACE_PREFIX = "e2e-"


class ClusterAccessError(AssertionError):
    """The external cluster cannot be used as asked; the message says what to fix."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class ClusterAccess:
    """Where the external cluster is and the credentials to use, from the Nomad CLI's variables."""

    address: str
    token: Secret | None = field(default=None, repr=False)
    tls: TLS = field(default_factory=TLS)
    region: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ClusterAccess | None:
        """The cluster ``NOMAD_ADDR`` names, or None when it is unset (agents are started locally)."""
        environ = os.environ if environ is None else environ
        address = environ.get(ADDRESS_VARIABLE, "").strip()
        if not address:
            return None
        if "://" not in address:
            address = f"http://{address}"
        return cls(
            address=address.rstrip("/"),
            token=as_secret(environ.get("NOMAD_TOKEN")),
            tls=TLS(
                ca_cert=environ.get("NOMAD_CACERT", ""),
                client_cert=environ.get("NOMAD_CLIENT_CERT", ""),
                client_key=environ.get("NOMAD_CLIENT_KEY", ""),
                skip_verify=environ.get("NOMAD_SKIP_VERIFY", "").lower() in ("1", "true"),
            ),
            region=environ.get("NOMAD_REGION", ""),
        )

    def client(self, token: Secret | None = None, namespace: str | None = None) -> NomadClient:
        return NomadClient(
            self.address,
            token=token if token is not None else self.token,
            namespace=namespace,
            tls=self.tls,
            region=self.region,
        )


def namespace_name(uid: str) -> str:
    return f"{NAMESPACE_PREFIX}{uid}"


def owner_meta(pid: int | None = None) -> dict[str, str]:
    pid = pid or os.getpid()
    return {
        OWNER_HOST: socket.gethostname(),
        OWNER_PID: str(pid),
        OWNER_CREATED: repr(processes.process_create_time(pid)),
    }


def explain(error: Exception, access: ClusterAccess, doing: str) -> ClusterAccessError:
    """A Nomad or transport error while ``doing`` something, turned into what to check."""
    if isinstance(error, NomadAPIError) and error.status == 403:
        return ClusterAccessError(
            f"Nomad at {access.address} refused to let {describe_token(access.token)} {doing}: "
            f"{error.body or 'Permission denied'}. Give NOMAD_TOKEN a token whose policy allows it."
        )
    if isinstance(error, NomadAPIError):
        return ClusterAccessError(f"Nomad at {access.address} refused to {doing}: HTTP {error.status}: {error.body}")
    return ClusterAccessError(
        f"Cannot reach the Nomad cluster at NOMAD_ADDR={access.address} to {doing}: {error}. "
        "Check the address (and NOMAD_CACERT for HTTPS), or unset NOMAD_ADDR to start local agents."
    )


def describe_token(token: Secret | None) -> str:
    # No part of the secret: `nomad acl token self` with the same NOMAD_TOKEN says which token it is.
    return "the token in NOMAD_TOKEN" if token is not None else "a request without a token (NOMAD_TOKEN is unset)"


def create_namespace(access: ClusterAccess, name: str) -> None:
    client = access.client()
    body = {"Name": name, "Description": "nomad-e2e test run; deleted when the run ends", "Meta": owner_meta()}
    try:
        client.put(api_path("namespace", name), body)
    except (NomadAPIError, requests.RequestException) as error:
        raise explain(error, access, f"create the test namespace '{name}'") from None
    finally:
        client.close()


def delete_namespace(access: ClusterAccess, name: str, deadline: Deadline) -> list[str]:
    """Stop and purge the namespace's jobs, then delete it; returns what was left."""
    client = access.client(namespace=name)
    try:
        registered = client.get("/v1/jobs") or []
        keys = [(job["Namespace"], job["ID"]) for job in registered]
        pending = removal.stop_jobs(client, keys, True, deadline)
        client.delete(api_path("namespace", name))
    except (NomadAPIError, requests.RequestException) as error:
        return [str(explain(error, access, f"delete the test namespace '{name}'"))]
    finally:
        client.close()
    return [f"allocation not terminal before the purge: {alloc}" for alloc in pending]


def sweep_namespaces(access: ClusterAccess, deadline: Deadline) -> list[str]:
    """Delete the test namespaces whose owner process on this host is gone; returns a report."""
    client = access.client()
    try:
        listed = client.get("/v1/namespaces") or []
    except (NomadAPIError, requests.RequestException):
        # A token that may not list namespaces cannot have left any this sweep could delete.
        return []
    finally:
        client.close()
    report = []
    for namespace in listed:
        meta = namespace.get("Meta") or {}
        if not namespace["Name"].startswith(NAMESPACE_PREFIX) or meta.get(OWNER_HOST) != socket.gethostname():
            continue
        pid = int(meta.get(OWNER_PID, 0) or 0)
        created = float(meta[OWNER_CREATED]) if meta.get(OWNER_CREATED) not in (None, "None") else None
        if pid == os.getpid() or processes.is_same_process(pid, created):
            continue
        problems = delete_namespace(access, namespace["Name"], deadline)
        outcome = "; ".join(problems) if problems else "jobs purged, namespace deleted"
        report.append(f"Namespace '{namespace['Name']}' of dead process {pid} on {access.address}: {outcome}")
    return report


def wait_until_usable(access: ClusterAccess, client: NomadClient, driver: str, deadline: Deadline) -> list[str]:
    """Wait for a leader and at least one ready node with ``driver`` healthy; returns those nodes' names."""
    seen = {"state": "no answer yet"}

    def check() -> Outcome:
        leader = client.get("/v1/status/leader")
        if not leader:
            seen["state"] = "no leader elected"
            return Pending(seen["state"])
        listed = client.get("/v1/nodes", resources="false") or []
        usable = []
        for summary in listed:
            if summary.get("Status") != "ready" or summary.get("SchedulingEligibility") != "eligible":
                continue
            info = nodes.driver_info(summary, driver)
            if info and info.get("Detected") and info.get("Healthy"):
                usable.append(summary["Name"])
        if usable:
            return Done(usable)
        states = ", ".join(
            f"{node['Name']} {node.get('Status')}: {nodes.describe_driver(node, driver)}" for node in listed
        )
        seen["state"] = f"no ready node with driver '{driver}' healthy ({states or 'no nodes registered'})"
        return Pending(seen["state"])

    try:
        outcome = poll(check, deadline, interval=0.5)
    except (NomadAPIError, requests.RequestException) as error:
        raise explain(error, access, "read the cluster's leader and nodes") from None
    if isinstance(outcome, Done):
        return outcome.value
    raise ClusterAccessError(f"The Nomad cluster at {access.address} is not usable after {deadline}: {seen['state']}.")
