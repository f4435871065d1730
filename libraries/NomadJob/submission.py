"""Keywords that submit and stop jobs."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from nomadtest.jobs import registration, removal
from nomadtest.library import LIFECYCLE, LibraryComponent
from nomadtest.registry import REGISTRY, Agent
from nomadtest.waiting import Deadline, resolve


class Submission(LibraryComponent):
    """Submit and stop jobs."""

    @keyword(tags=[LIFECYCLE])
    def submit_job(
        self,
        template_or_file: str | None = None,
        hcl: str | None = None,
        unique: bool = True,
        agent: str | None = None,
        **variables,
    ) -> str:
        """Renders a job template with ``variables``, registers the job and returns its id.

        ``template_or_file`` is a template name from ``templates/jobs/`` (``java-batch``) or the
        path of a template file; alternatively ``hcl`` gives the template text itself. All three
        are Jinja2 templates: a literal ``{{`` (as in a ``template`` block) needs
        ``{% raw %}...{% endraw %}``.

        The job id is ``<prefix>-<8 hex digits>``, the prefix being ``job_id`` if given, otherwise
        the template's name (``job`` for ``hcl=``); it reaches the template as ``job_id``, so a
        job given as ``hcl=`` names itself ``job {{ job_id | hcl }} { ... }`` to get it (a
        literal name is used as is). With ``unique=False`` the ``job_id`` given is used as is,
        for example to update a job submitted earlier. Ids with whitespace or control
        characters are refused, as Nomad refuses them.

        A template that reads ``driver`` gets the driver under test unless ``driver`` is given, and
        one that reads ``nomad_version`` the version of the agent it is submitted to, so it can
        follow what that Nomad supports: ``{% if nomad_version is nomad_at_least("1.8.0") %}``.
        When the driver's profile delivers JARs as artifacts, a ``jar_path`` naming a file on
        this host is served over HTTP and becomes an artifact downloaded to ``local/``.

        A variable the template never reads fails, naming the closest one it does (``memroy``:
        did you mean ``memory``?). The rendered HCL is logged. Fails with Nomad's own message
        (and the offending lines) when the HCL does not parse, and with Nomad's reason when it
        rejects the job.

        Examples:
        | ${job} = | `Submit Job` | java-batch | jar_path=${JAR} | args=${args} | memory=${512} |
        | ${job} = | `Submit Job` | raw-exec | command=/bin/echo | args=${{ ["hello"] }} | job_id=echo |
        | ${job} = | `Submit Job` | ${CURDIR}/jobs/custom.hcl.j2 | image=x |
        | ${job} = | `Submit Job` | hcl=job {{ job_id \\| hcl }} { ... } | |
        """
        library = self.library
        target = REGISTRY.find(agent)
        return registration.submit_job(
            target, library.delivery, library.tracker, template_or_file, hcl, unique, variables
        )

    @keyword(tags=[LIFECYCLE])
    def stop_job(
        self, job_id: str, purge: bool = True, timeout: timedelta | None = None, agent: str | None = None
    ) -> None:
        """Stops the job, waits until its tasks have stopped, then purges it unless ``purge=False``.

        Returns once no allocation of the job runs: its tasks were stopped by the driver, not
        left to die after the keyword returned. Stopping a job that does not exist passes.

        Example:
        | `Stop Job` | ${job} |
        | `Stop Job` | ${job} | purge=False | timeout=2 min |
        """
        timeout = resolve(timeout)
        self._stop([job_id], purge, timeout, REGISTRY.for_job(job_id, agent))

    @keyword(tags=[LIFECYCLE])
    def stop_all_jobs(
        self, purge: bool = True, timeout: timedelta | None = None, agent: str | None = None
    ) -> list[str]:
        """Stops (and purges unless ``purge=False``) every job of the agent's cluster, whoever submitted it.

        Jobs of the agent's namespace are stopped: ``default``, the one the framework's templates use,
        or the test namespace of an external cluster.
        Without ``purge``, jobs already stopped are left alone.

        Waits until their tasks have stopped and returns the job ids. Meant for suite
        teardowns that check for leaks afterwards: the library's own cleanup of a suite's jobs
        runs only after the suite teardown.

        Example:
        | [Teardown] | `Stop All Jobs` |
        | ${stopped} = | `Stop All Jobs` | purge=False | timeout=2 min |
        """
        timeout = resolve(timeout)
        registered = REGISTRY.client(agent).get("/v1/jobs") or []
        stopping = [job["ID"] for job in registered if purge or not job.get("Stop")]
        self._stop(stopping, purge, timeout, agent)
        logger.info(f"Stopped {len(stopping)} job(s): {', '.join(stopping) or 'none'}.")
        return stopping

    @staticmethod
    def _stop(job_ids: list[str], purge: bool, timeout: timedelta, agent: str | Agent | None) -> None:
        deadline = Deadline(timeout)
        client = REGISTRY.client(agent)
        keys = [(registration.namespace_of(client), job_id) for job_id in job_ids]
        pending = removal.stop_jobs(client, keys, purge, deadline)
        if pending:
            raise AssertionError(
                f"Allocations still running {deadline} after the job(s) were stopped: {', '.join(pending)}."
            )
