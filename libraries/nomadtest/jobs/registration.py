"""Handing a rendered job to Nomad: its own parser (``/v1/jobs/parse``), then registration."""

from __future__ import annotations

from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.jobs.specs import JobError, RenderedJob, format_parse_error


def parse_job(client: NomadClient, rendered: RenderedJob) -> dict:
    """The job as JSON, parsed by Nomad itself so that HCL means exactly what Nomad makes of it."""
    try:
        return client.put("/v1/jobs/parse", {"JobHCL": rendered.hcl, "Canonicalize": True})
    except NomadAPIError as error:
        if error.status != 400:
            raise
        raise JobError(
            f"Nomad cannot parse job '{rendered.job_id}' from {rendered.source}: "
            + format_parse_error(error.body, rendered.hcl)
        ) from None


def namespace_of(client: NomadClient) -> str:
    """The namespace the client's jobs live in: its own (an external cluster's test namespace) or Nomad's default."""
    return client.namespace or "default"


def register_job(client: NomadClient, job: dict) -> dict:
    """Register ``job`` in the client's namespace; returns Nomad's answer (``EvalID``, ``Warnings``...)."""
    if client.namespace and job.get("Namespace") in (None, "", "default"):
        job = {**job, "Namespace": client.namespace}
    try:
        return client.put("/v1/jobs", {"Job": job})
    except NomadAPIError as error:
        if error.status >= 500 or error.status == 400:
            raise JobError(f"Nomad rejected job '{job.get('ID')}': {error.body}") from None
        if error.status == 403:
            raise JobError(
                f"Permission denied: Nomad at {client.address} refused to register job '{job.get('ID')}' in "
                f"namespace '{job.get('Namespace') or 'default'}' with this token ({error.body}). Its ACL "
                'policy needs the submit-job capability there (policy = "write").'
            ) from None
        raise
