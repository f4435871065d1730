"""Submitting jobs: rendering, JAR delivery, Nomad's own parser (``/v1/jobs/parse``), registration, tracking."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from robot.api import logger

from nomadtest import profiles, versions
from nomadtest.api.client import NomadAPIError, NomadClient
from nomadtest.jobs import forensics, taskconfig
from nomadtest.jobs.specs import JobError, RenderedJob, check_job_id, format_parse_error, render_job
from nomadtest.registry import REGISTRY, Agent

if TYPE_CHECKING:
    # Annotations only: the tracker stops jobs through this package, so importing it here would be a cycle.
    from nomadtest.jobs.delivery import JarDelivery
    from nomadtest.jobs.tracking import JobTracker


def submit_job(
    target: Agent,
    delivery: JarDelivery,
    tracker: JobTracker,
    template_or_file: str | None,
    hcl: str | None,
    unique: bool,
    variables: dict[str, Any],
    phases: dict[str, float] | None = None,
) -> str:
    """Render, deliver the JARs the driver's profile wants as artifacts, parse, register and track a job.

    ``phases``, when given, gets the seconds each step took: ``render`` (profile, delivery,
    rendering, the log), ``parse``, ``register`` and ``track``.
    """
    clock = _PhaseClock(phases)
    profile = profiles.for_driver(target.driver)
    if profile.jar_delivery == "artifact":
        variables = delivery.deliver(variables)
    defaults = {"driver": target.driver, "nomad_version": str(target.nomad_version or versions.PROVEN_VERSION)}

    def task_config(inputs: Mapping[str, Any]) -> dict[str, Any]:
        return taskconfig.render(profile.task_mapping(), target.driver, inputs)

    rendered = render_job(template_or_file, variables, hcl, unique, defaults=defaults, task_config=task_config)
    logger.info(forensics.as_html(f"Job {rendered.job_id} from {rendered.source}", rendered.hcl), html=True)
    clock.lap("render")
    job = parse_job(target.client, rendered)
    job_id = check_job_id(job.get("ID", rendered.job_id))
    clock.lap("parse")
    answer = register_job(target.client, job)
    clock.lap("register")
    tracker.add(job_id, target)
    REGISTRY.note_job(job_id, target)
    if answer.get("Warnings"):
        logger.warn(f"Nomad accepted job '{job_id}' with warnings: {answer['Warnings']}")
    logger.info(f"Submitted job '{job_id}' (evaluation {answer.get('EvalID', '?')}).")
    clock.lap("track")
    return job_id


class _PhaseClock:
    """Seconds since the previous lap, into ``phases`` under each lap's name; nothing without ``phases``."""

    def __init__(self, phases: dict[str, float] | None) -> None:
        self.phases = phases
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.phases is not None:
            now = time.perf_counter()
            self.phases[name] = now - self.last
            self.last = now


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
