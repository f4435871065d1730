"""Stopping and purging jobs, waiting until their tasks have stopped."""

from __future__ import annotations

from nomadtest.api.client import NomadAPIError, NomadClient, api_path
from nomadtest.jobs.lookup import is_terminal, short


def stop_jobs(
    client: NomadClient,
    job_keys: list[tuple[str, str]],
    purge: bool,
    deadline,
    live_node_ids: set[str] | None = None,
) -> list[str]:
    """Stop the jobs (``(namespace, id)`` pairs), wait until their allocations are terminal, then purge.

    Stopping first and waiting lets the driver stop and destroy each task the normal way: a purge
    alone drops the allocations from the state at once, leaving nothing to wait on while the tasks
    still run. Allocations on nodes outside ``live_node_ids`` (when given) can never finish and are
    not waited for. Unknown jobs are skipped. Returns the allocations still not terminal when the
    deadline passed; the jobs are purged all the same.
    """
    stopped = [key for key in job_keys if _deregister(client, *key, purge=False)]
    pending: list[str] = []
    index = 0
    wanted = set(stopped)
    while wanted:
        answer = client.blocking_get("/v1/allocations", index=index, wait=deadline.block_for(), namespace="*")
        index = answer.index
        pending = [
            f"{short(alloc['ID'])} ({alloc['JobID']}/{alloc.get('TaskGroup')}: {alloc['ClientStatus']})"
            for alloc in answer.data or []
            if (alloc["Namespace"], alloc["JobID"]) in wanted
            and (live_node_ids is None or alloc["NodeID"] in live_node_ids)
            and not is_terminal(alloc)
        ]
        if not pending or deadline.expired:
            break
    if purge:
        for key in stopped:
            _deregister(client, *key, purge=True)
    return pending


def _deregister(client: NomadClient, namespace: str, job_id: str, purge: bool) -> bool:
    """Deregister the job; False when Nomad does not know it (a periodic child may go with its parent)."""
    try:
        client.get(api_path("job", job_id), namespace=namespace)
        client.delete(api_path("job", job_id), purge=str(purge).lower(), namespace=namespace)
    except NomadAPIError as error:
        if error.status == 404:
            return False
        raise
    return True
