"""NomadJob: submit Nomad jobs and wait on their jobs, allocations and tasks."""

from __future__ import annotations

from nomadtest import __version__, templating
from nomadtest.jobs import specs
from nomadtest.jobs.delivery import JarDelivery
from nomadtest.jobs.tracking import JobTracker
from nomadtest.library import NomadLibrary

from .events import TaskEvents
from .forensics import JobForensics
from .state import JobState
from .submission import Submission
from .waiting import Waiting

__all__ = ["NomadJob", "__version__"]


def _template_table() -> str:
    """The shipped templates with the variables their header comments document, for libdoc."""
    rows = []
    for path in sorted(specs.JOB_TEMPLATES_DIR.glob("*" + specs.TEMPLATE_SUFFIX)):
        header = templating.header_comment(path)
        name = path.name[: -len(specs.TEMPLATE_SUFFIX)]
        rows.append(f"== {name} ==\n\n| {header.replace(chr(10), chr(10) + '| ')}\n")
    return "\n".join(rows)


class NomadJob(NomadLibrary):
    """Submit Nomad jobs from templates and wait on their jobs, allocations and tasks.

    = Agents =

    Every keyword talks to the Nomad agent named by its ``agent`` argument. Without one, a keyword
    about a job talks to the agent the job was submitted to, while that agent runs; the others (and
    those of a job whose agent stopped) to the one started most recently with `Start Nomad Server`
    of the NomadServer library.

    = Job templates =

    `Submit Job` renders a Jinja2 template from ``templates/jobs/<name>.hcl.j2`` (or any file, or
    text given with ``hcl=``) with the variables given, plus a unique ``job_id``. Values are written
    into the HCL with the ``hcl`` filter, e.g. ``args = {{ args | hcl }}``. A variable the template
    uses but nobody passed is an error naming it, and so is a variable the template never reads
    (a typo such as ``memroy=300``), with the closest name it does read. The job is parsed by
    Nomad itself (``/v1/jobs/parse``), so a syntax error quotes Nomad's message and the rendered
    line at fault.

    = Selecting allocations and tasks =

    Keywords about an allocation or task take the job id, then optionally ``task`` (default: the
    only task of the job's group; a group with several tasks needs the name) and ``alloc_id``
    (default: the job's most recently created allocation; a unique prefix is enough).

    Waits without ``alloc_id`` follow rescheduling: when the allocation watched fails and Nomad
    replaces it, they go on with the replacement.

    = Waiting =

    Waits use Nomad's blocking queries and return as soon as the state changes. They fail at once
    when the state awaited can no longer happen: waiting for a task to run when it is already
    dead, or for a job Nomad cannot place (the failure quotes Nomad's reasons, such as
    ``Constraint "missing drivers" filtered 1 node``). On timeout they fail with the last status
    seen, the task events and the last lines of each task's stdout and stderr.

    = Ownership =

    Jobs belong to the test, or to the suite when submitted in suite setup. When their owner ends,
    the library stops them, waits until their tasks have stopped and purges them (unless imported
    with ``stop_jobs=False``); a job that does not stop fails its owner. `Capture Job Forensics` reports on the
    current test's jobs.

    = Templates shipped with the framework =

    TEMPLATES
    """

    __doc__ = __doc__.replace("TEMPLATES", _template_table())

    def __init__(self, stop_jobs: bool = True) -> None:
        """``stop_jobs``: stop and purge each test's and suite's jobs when it ends."""
        self.tracker = JobTracker(stop_jobs)
        self.delivery = JarDelivery()
        self.ROBOT_LIBRARY_LISTENER = [self.tracker.listener, self]
        super().__init__([Submission, JobState, TaskEvents, Waiting, JobForensics])

    ROBOT_LISTENER_API_VERSION = 3

    def close(self) -> None:
        """At the end of the run: stop serving JARs."""
        self.delivery.close()
