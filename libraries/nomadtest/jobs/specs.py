"""Job specs: ids, templates and rendering, and Nomad's parse errors shown at the line.

Everything here returns data or raises :class:`JobError`; logging to Robot's log is left to the
keyword libraries so this module stays usable (and testable) outside a Robot run.
"""

from __future__ import annotations

import difflib
import functools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from nomadtest import templating
from nomadtest.profiles import TASK_INPUTS

JOB_TEMPLATES_DIR = templating.TEMPLATES_DIR / "jobs"
# Templates that read it get the driver's task config, written from its profile out of these inputs.
TASK_CONFIG_VARIABLE = "task_config"
TASK_INPUT_VARIABLES = (*TASK_INPUTS, "config")


TEMPLATE_SUFFIX = ".hcl.j2"


MAX_JOB_ID_LENGTH = 128


_NOT_IN_JOB_IDS = re.compile(r"[\s\x00-\x1f\x7f]")


# Lines of rendered HCL shown either side of the one Nomad's parser complains about.
CONTEXT_LINES = 2


# Nomad's HCL diagnostics look like "input.hcl:6,26-27: Summary; Detail" or "input.hcl:6,38-7,1: ...".
_HCL_RANGE = re.compile(r"\.hcl:(?P<line>\d+),(?P<column>\d+)(?:-(?:(?P<end_line>\d+),)?(?P<end_column>\d+))?:")


_UNDEFINED = re.compile(r"'(?P<name>[^']+)' is undefined")


class JobError(AssertionError):
    """A job could not be rendered, submitted or found; the message says why in Nomad's words."""

    ROBOT_SUPPRESS_NAME = True


@dataclass(frozen=True)
class RenderedJob:
    """A job spec rendered from a template, file or text, ready for Nomad's parser."""

    source: str  # what the user passed, as shown in messages
    job_id: str
    hcl: str


def check_job_id(job_id: str) -> str:
    """``job_id`` if Nomad takes it as a job id, else a JobError saying why."""
    if not job_id.strip():
        raise JobError("A job id cannot be empty.")
    if _NOT_IN_JOB_IDS.search(job_id):
        raise JobError(f"Job id {job_id!r} holds whitespace or a control character, which Nomad refuses in job ids.")
    if len(job_id) > MAX_JOB_ID_LENGTH:
        raise JobError(f"Job id {job_id[:20]!r}... is {len(job_id)} characters long; Nomad takes {MAX_JOB_ID_LENGTH}.")
    return job_id


def unique_job_id(prefix: str) -> str:
    """``<prefix>-<8 hex digits>``: unique across runs, short enough to read in Nomad's output."""
    return check_job_id(f"{prefix}-{uuid.uuid4().hex[:8]}")


def template_prefix(source: str) -> str:
    name = Path(source).name
    for suffix in (TEMPLATE_SUFFIX, ".j2", ".nomad.hcl", ".hcl", ".nomad"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _environment(search_path: list[Path]) -> jinja2.Environment:
    return _environment_of(tuple(str(path) for path in search_path))


# One environment per search path, so each template is compiled once a run rather than once a job
# (most of Submit Job's own time before): Jinja recompiles a template whose file changed.
@functools.lru_cache(maxsize=64)
def _environment_of(search_path: tuple[str, ...]) -> jinja2.Environment:
    env = templating.environment(JOB_TEMPLATES_DIR)
    # User templates may extend or include the project's own job templates.
    env.loader = jinja2.FileSystemLoader(list(search_path))
    return env


def _load(template_or_file: str, templates_dir: Path) -> tuple[jinja2.Template, str]:
    """The template named (``java-batch``) or the file at the path given, and how to name it."""
    path = Path(template_or_file).expanduser()
    if path.is_file():
        env = _environment([path.resolve().parent, templates_dir])
        return env.get_template(path.name), str(path)
    name = template_or_file if template_or_file.endswith(".j2") else template_or_file + TEMPLATE_SUFFIX
    env = _environment([templates_dir])
    try:
        return env.get_template(name), str(templates_dir / name)
    except jinja2.TemplateNotFound:
        known = sorted(p.name[: -len(TEMPLATE_SUFFIX)] for p in templates_dir.glob("*" + TEMPLATE_SUFFIX))
        raise JobError(
            f"No job template '{template_or_file}': not a file, and not one of {', '.join(known) or 'none'} "
            f"in {templates_dir}."
        ) from None


def render_job(
    template_or_file: str | None = None,
    variables: Mapping[str, Any] | None = None,
    hcl_text: str | None = None,
    unique: bool = True,
    templates_dir: Path = JOB_TEMPLATES_DIR,
    defaults: Mapping[str, Any] | None = None,
    task_config: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
) -> RenderedJob:
    """Render a job template, a template file or template text with a fresh ``job_id``.

    ``job_id`` in ``variables`` is the prefix of the unique id (or the id itself when ``unique`` is
    false); without it the prefix is the template's name. ``defaults`` (such as the driver under
    test) fill in the variables the template reads and the caller did not give. A template that
    reads ``task_config`` gets it from ``task_config``, called with the JAR task's generic inputs
    among the variables (``jar_path``, ``main_class``..., ``config``): the driver's own option names.
    """
    if (template_or_file is None) == (hcl_text is None):
        raise JobError("Give either a template name or file, or the job's HCL text with hcl=..., not both.")
    variables = dict(variables or {})
    try:
        if hcl_text is not None:
            source = "the given HCL"
            env = _environment([templates_dir])
            template = env.from_string(hcl_text)
            known = templating.template_variables(env, source=hcl_text)
            prefix = "job"
        else:
            template, source = _load(template_or_file, templates_dir)
            known = templating.template_variables(template.environment, template.name)
            prefix = template_prefix(template_or_file)
    except jinja2.TemplateSyntaxError as error:
        raise JobError(f"Job template {_name(template_or_file)} line {error.lineno}: {error.message}") from None
    writes_task_config = TASK_CONFIG_VARIABLE in known
    if writes_task_config:
        known = known | set(TASK_INPUT_VARIABLES)
    _check_known(template_or_file, variables, known)
    variables = {**{name: value for name, value in (defaults or {}).items() if name in known}, **variables}
    if writes_task_config:
        # artifacts is the template's own variable too: it only tells whether a JAR may come that way.
        inputs = {name: variables[name] for name in (*TASK_INPUT_VARIABLES, "artifacts") if name in variables}
        variables[TASK_CONFIG_VARIABLE] = _WrittenOnUse(template_or_file, task_config, inputs)
    requested = str(variables.pop("job_id", prefix))
    job_id = unique_job_id(requested) if unique else check_job_id(requested)
    try:
        text = template.render(variables, job_id=job_id)
    except jinja2.UndefinedError as error:
        missing = _UNDEFINED.search(str(error))
        if missing:
            raise JobError(
                f"Job template {_name(template_or_file)} needs variable '{missing['name']}': "
                f"pass it as {missing['name']}=<value>."
            ) from None
        raise JobError(f"Job template {_name(template_or_file)}: {error}") from None
    except TypeError as error:
        raise JobError(f"Job template {_name(template_or_file)}: {error}") from None
    return RenderedJob(source=source, job_id=job_id, hcl=text)


class _WrittenOnUse(Mapping):
    """The task config, written only if the template writes it: one that overrides the block (raw-exec)
    uses its own variables, and its driver needs no profile."""

    def __init__(
        self,
        template_or_file: str | None,
        write: Callable[[Mapping[str, Any]], dict[str, Any]] | None,
        inputs: Mapping[str, Any],
    ) -> None:
        self._template, self._write, self._inputs = template_or_file, write, inputs
        self._written: dict[str, Any] | None = None

    def _config(self) -> dict[str, Any]:
        if self._written is None:
            if self._write is None:
                raise JobError(
                    f"Job template {_name(self._template)} writes the driver's task config from its profile: "
                    "submit it with Submit Job, which knows the driver."
                )
            self._written = self._write(self._inputs)
        return self._written

    def __getitem__(self, key: str) -> Any:
        return self._config()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._config())

    def __len__(self) -> int:
        return len(self._config())


def _check_known(template_or_file: str | None, variables: Mapping[str, Any], known: set[str]) -> None:
    """A variable the template never reads is a typo (``memroy=300``) that would silently change nothing."""
    unknown = sorted(set(variables) - known - {"job_id"})
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise JobError(
        f"Job template {_name(template_or_file)} has no variable {', '.join(hints)}; "
        f"it reads: {', '.join(sorted(known - {'job_id'})) or 'none'}."
    )


def _name(template_or_file: str | None) -> str:
    return f"'{template_or_file}'" if template_or_file is not None else "given as hcl="


def format_parse_error(message: str, hcl_text: str) -> str:
    """Nomad's parse error followed by the rendered lines it points at, numbered, with a caret."""
    found = _HCL_RANGE.search(message)
    if not found:
        return message
    lines = hcl_text.splitlines()
    first = int(found["line"])
    last = int(found["end_line"] or first)
    # A range ending at column 1 of the next line is about the end of the previous one.
    if last > first and found["end_column"] == "1":
        last -= 1
    column = int(found["column"])
    width = len(str(min(last + CONTEXT_LINES, len(lines))))
    shown = []
    for number in range(max(first - CONTEXT_LINES, 1), min(last + CONTEXT_LINES, len(lines)) + 1):
        marker = ">" if first <= number <= last else " "
        shown.append(f"{marker} {number:>{width}} | {lines[number - 1]}")
        if number == first:
            shown.append(f"  {'':>{width}} | {' ' * (column - 1)}^")
    return message + "\n" + "\n".join(shown)
