import os
import re
import time
from pathlib import Path

import pytest

from nomadtest import profiles
from nomadtest.api.client import NomadAPIError
from nomadtest.jobs import lookup, registration, specs, taskconfig

JOB_ID = re.compile(r"^(?P<prefix>.+)-[0-9a-f]{8}$")


class RecordingClient:
    """Answers PUTs with a fixed reply or error and records what was sent."""

    address = "http://127.0.0.1:4646"

    def __init__(
        self, reply=None, error: NomadAPIError | None = None, gets: dict | None = None, namespace: str | None = None
    ) -> None:
        self.namespace = namespace
        self.reply = reply
        self.error = error
        self.gets = gets or {}
        self.sent: list[tuple[str, dict]] = []

    def put(self, path, body=None, **params):
        self.sent.append((path, body))
        if self.error:
            raise self.error
        return self.reply

    def get(self, path, **params):
        key = path if not params else (path, tuple(sorted(params.items())))
        return self.gets[key]


# -- rendering ------------------------------------------------------------------------------------


def test_job_id_is_prefix_and_short_uuid_and_unique():
    first = specs.render_job("raw-exec", {"command": "/bin/true"})
    second = specs.render_job("raw-exec", {"command": "/bin/true"})
    assert JOB_ID.match(first.job_id)["prefix"] == "raw-exec"
    assert first.job_id != second.job_id
    assert f'job "{first.job_id}"' in first.hcl


def test_job_id_argument_is_the_prefix_unless_not_unique():
    assert JOB_ID.match(specs.render_job("raw-exec", {"command": "x", "job_id": "echo"}).job_id)["prefix"] == "echo"
    assert specs.render_job("raw-exec", {"command": "x", "job_id": "exact"}, unique=False).job_id == "exact"


CRUNJAR = profiles.load("crunjar")


def render(template: str, variables: dict, **options) -> specs.RenderedJob:
    """Render as Submit Job does for crunjar: its name and task options from its profile."""

    def task_config(inputs):
        return taskconfig.render(CRUNJAR.task_mapping(), "crunjar", inputs)

    return specs.render_job(template, variables, defaults={"driver": "crunjar"}, task_config=task_config, **options)


def test_missing_variable_names_template_and_variable():
    with pytest.raises(specs.JobError) as failure:
        specs.render_job("java-batch", {})
    assert str(failure.value) == "Job template 'java-batch' needs variable 'driver': pass it as driver=<value>."


def test_class_or_artifacts_make_jar_path_optional():
    rendered = render("java-batch", {"main_class": "Main", "class_path": "/jars"})
    assert "jar_path" not in rendered.hcl
    assert 'class = "Main"' in rendered.hcl and 'class_path = "/jars"' in rendered.hcl
    fetched = render("java-batch", {"artifacts": [{"source": "http://127.0.0.1:1/a.jar"}]})
    assert "jar_path" not in fetched.hcl


def test_a_template_writing_the_task_config_needs_the_profile():
    with pytest.raises(specs.JobError, match="writes the driver's task config from its profile"):
        specs.render_job("java-batch", {"jar_path": "/x.jar"}, defaults={"driver": "crunjar"})


def test_artifact_mode_and_chown_are_rendered_only_when_given():
    plain = render("java-batch", {"artifacts": [{"source": "http://127.0.0.1:1/a.jar"}]})
    assert "mode        =" not in plain.hcl and "chown" not in plain.hcl
    artifact = {"source": "http://127.0.0.1:1/a.txt", "destination": "local/a.txt", "mode": "file", "chown": True}
    owned = render("java-batch", {"artifacts": [artifact]})
    assert 'mode        = "file"' in owned.hcl
    assert "chown       = true" in owned.hcl
    assert 'destination = "local/a.txt"' in owned.hcl


def test_unknown_template_lists_known_ones():
    with pytest.raises(specs.JobError, match=r"No job template 'nope'.*java-batch, java-service, raw-exec"):
        specs.render_job("nope", {})


def test_values_are_written_as_hcl():
    rendered = render(
        "java-batch",
        {
            "jar_path": "/jars/hello.jar",
            "args": ["a", 'say "hi"'],
            "env": {"HELLO_NAME": "x", "dotted.name": "y"},
            "artifacts": [{"source": "http://127.0.0.1:8080/hello.jar", "options": {"checksum": "sha256:ab"}}],
            "memory": 512,
            "restart_attempts": 3,
            "kill_timeout": "2s",
            "config": {"java_version": "17", "cap_drop": ["ALL"]},
        },
    )
    text = rendered.hcl
    assert 'args = ["a", "say \\"hi\\""]' in text
    assert 'HELLO_NAME = "x"' in text and '"dotted.name" = "y"' in text
    assert 'source      = "http://127.0.0.1:8080/hello.jar"' in text
    assert 'checksum = "sha256:ab"' in text
    assert "memory = 512" in text and "attempts = 3" in text and 'kill_timeout = "2s"' in text
    assert 'java_version = "17"' in text and 'cap_drop = ["ALL"]' in text
    assert 'driver = "crunjar"' in text and 'type        = "batch"' in text
    assert 'jar_path = "/jars/hello.jar"' in text


def test_service_and_raw_exec_templates_extend_java_batch():
    service = render("java-service", {"jar_path": "/x.jar"})
    assert 'type        = "service"' in service.hcl and "attempts = 2" in service.hcl
    raw = specs.render_job("raw-exec", {"command": "/bin/sh", "args": ["-c", "exit 0"], "driver": "ignored"})
    assert 'driver = "raw_exec"' in raw.hcl and 'command = "/bin/sh"' in raw.hcl and "memory = 64" in raw.hcl
    assert "jar_path" not in raw.hcl


def test_template_file_may_extend_project_templates(tmp_path: Path):
    path = tmp_path / "custom.hcl.j2"
    path.write_text('{% extends "raw-exec.hcl.j2" %}{% set command = "/bin/" + tool %}')
    rendered = specs.render_job(str(path), {"tool": "true"})
    assert JOB_ID.match(rendered.job_id)["prefix"] == "custom"
    assert 'command = "/bin/true"' in rendered.hcl
    assert rendered.source == str(path)


def test_a_template_file_changed_between_submissions_is_read_again(tmp_path: Path):
    # Templates are compiled and analysed once a run (Submit Job's speed), yet an edit is seen.
    path = tmp_path / "edited.hcl.j2"
    path.write_text('job "{{ job_id }}" { type = {{ kind | hcl }} }')
    assert 'type = "batch"' in specs.render_job(str(path), {"kind": "batch"}).hcl
    path.write_text('job "{{ job_id }}" { priority = {{ level | hcl }} }')
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert "priority = 70" in specs.render_job(str(path), {"level": 70}).hcl
    with pytest.raises(specs.JobError, match="has no variable 'kind'"):
        specs.render_job(str(path), {"kind": "batch", "level": 1})


def test_hcl_text_is_a_template_too():
    rendered = specs.render_job(hcl_text='job "{{ job_id }}" { type = {{ kind | hcl }} }', variables={"kind": "batch"})
    assert JOB_ID.match(rendered.job_id)["prefix"] == "job"
    assert rendered.hcl == f'job "{rendered.job_id}" {{ type = "batch" }}'


def test_template_and_hcl_text_are_exclusive():
    with pytest.raises(specs.JobError, match="either a template"):
        specs.render_job("raw-exec", {}, hcl_text="job {}")
    with pytest.raises(specs.JobError, match="either a template"):
        specs.render_job()


def test_null_value_is_an_error_naming_the_template():
    with pytest.raises(specs.JobError, match="Job template 'raw-exec': HCL has no null"):
        specs.render_job("raw-exec", {"command": None})


# -- parsing and registering ----------------------------------------------------------------------

HCL = 'job "x" {\n  group "g" {\n    task "t" {\n      config { command = }\n    }\n  }\n}\n'


def test_parse_error_shows_the_offending_line_with_a_caret():
    message = "Failed to parse job: input.hcl:4,26-27: Invalid expression; Expected the start of an expression."
    assert specs.format_parse_error(message, HCL) == (
        message + "\n"
        '  2 |   group "g" {\n'
        '  3 |     task "t" {\n'
        ">  4 |       config { command = }\n"
        "    |                          ^\n"
        "  5 |     }\n"
        "  6 |   }"
    ).replace(">  4", "> 4")


def test_parse_error_range_ending_at_next_line_start_marks_one_line():
    message = "input.hcl:1,9-2,1: Invalid single-argument block definition"
    shown = specs.format_parse_error(message, HCL).splitlines()
    assert [line[0] for line in shown[1:]] == [">", " ", " ", " "]


def test_parse_error_range_over_lines_marks_each():
    message = "input.hcl:2,3-3,5: Something"
    marked = [line for line in specs.format_parse_error(message, HCL).splitlines()[1:] if line.startswith(">")]
    assert len(marked) == 2


def test_parse_error_without_position_is_left_alone():
    assert specs.format_parse_error("Failed to parse job: boom", HCL) == "Failed to parse job: boom"


def test_parse_job_turns_nomads_400_into_a_job_error_with_the_line():
    body = "Failed to parse job: input.hcl:4,26-27: Invalid expression; Expected the start of an expression."
    client = RecordingClient(error=NomadAPIError("PUT", "/v1/jobs/parse", 400, body))
    rendered = specs.RenderedJob(source="templates/jobs/x.hcl.j2", job_id="x-1", hcl=HCL)
    with pytest.raises(specs.JobError) as failure:
        registration.parse_job(client, rendered)
    assert str(failure.value).startswith("Nomad cannot parse job 'x-1' from templates/jobs/x.hcl.j2: " + body)
    assert "> 4 |       config { command = }" in str(failure.value)
    assert client.sent == [("/v1/jobs/parse", {"JobHCL": HCL, "Canonicalize": True})]


def test_register_job_reports_nomads_rejection():
    body = "1 error occurred:\n\t* Task group g validation failed"
    client = RecordingClient(error=NomadAPIError("PUT", "/v1/jobs", 500, body))
    with pytest.raises(specs.JobError, match="Nomad rejected job 'x': 1 error occurred:\n\t\\* Task group g"):
        registration.register_job(client, {"ID": "x"})
    assert client.sent == [("/v1/jobs", {"Job": {"ID": "x"}})]


def test_register_job_puts_the_job_in_the_clients_namespace():
    client = RecordingClient(reply={"EvalID": "e"}, namespace="e2e-1")
    registration.register_job(client, {"ID": "x", "Namespace": "default"})
    registration.register_job(client, {"ID": "y", "Namespace": "chosen"})
    assert [body["Job"]["Namespace"] for _, body in client.sent] == ["e2e-1", "chosen"]
    assert registration.namespace_of(client) == "e2e-1"
    assert registration.namespace_of(RecordingClient()) == "default"


def test_register_job_explains_a_permission_denial():
    client = RecordingClient(error=NomadAPIError("PUT", "/v1/jobs", 403, "Permission denied"), namespace="e2e-1")
    with pytest.raises(
        specs.JobError, match=r"Permission denied: .* register job 'x' in namespace 'e2e-1'.*submit-job"
    ):
        registration.register_job(client, {"ID": "x"})


# -- allocations and tasks ------------------------------------------------------------------------


def alloc(alloc_id="a" * 36, tasks=("app",), **fields):
    group = {"Name": "app", "Tasks": [{"Name": name} for name in tasks]}
    return {"ID": alloc_id, "JobID": "j", "TaskGroup": "app", "Job": {"TaskGroups": [group]}, **fields}


def test_latest_allocation_is_chosen_by_create_index():
    client = RecordingClient(
        gets={
            "/v1/job/j": {"ID": "j"},
            "/v1/job/j/allocations": [{"ID": "b" * 36, "CreateIndex": 9}, {"ID": "a" * 36, "CreateIndex": 5}],
            "/v1/allocation/" + "b" * 36: alloc("b" * 36),
        }
    )
    assert lookup.select_allocation(client, "j")["ID"] == "b" * 36


def test_allocation_of_another_job_is_refused():
    client = RecordingClient(gets={"/v1/allocation/" + "a" * 36: alloc(JobID="other")})
    with pytest.raises(specs.JobError, match="belongs to job 'other', not 'j'"):
        lookup.select_allocation(client, "j", "a" * 36)


def test_allocation_prefix_must_be_unique():
    client = RecordingClient(gets={("/v1/allocations", (("prefix", "ab"),)): [{"ID": "ab1"}, {"ID": "ab2"}]})
    with pytest.raises(specs.JobError, match="matches: ab1, ab2"):
        lookup.get_allocation(client, "ab")


def test_unknown_job_is_a_clear_error():
    class Missing(RecordingClient):
        def get(self, path, **params):
            raise NomadAPIError("GET", path, 404, "job not found")

    with pytest.raises(specs.JobError, match=re.escape("Job 'nope' does not exist on http://127.0.0.1:4646")):
        lookup.job_allocations(Missing(), "nope")


def test_only_task_is_the_default_and_several_need_a_name():
    assert lookup.resolve_task(alloc(), None) == "app"
    assert lookup.resolve_task(alloc(tasks=("app", "sidecar")), "sidecar") == "sidecar"
    with pytest.raises(specs.JobError, match="has tasks app, sidecar: say which one with task=<name>"):
        lookup.resolve_task(alloc(tasks=("app", "sidecar")), None)
    with pytest.raises(specs.JobError, match="has no task 'web'; its tasks: app"):
        lookup.resolve_task(alloc(), "web")


def test_exit_code_comes_from_the_last_terminated_event():
    state = {
        "Events": [
            {"Type": "Terminated", "Details": {"exit_code": "1"}},
            {"Type": "Restarting"},
            {"Type": "Terminated", "Details": {"exit_code": "3"}},
            {"Type": "Not Restarting"},
        ]
    }
    assert lookup.exit_code(state) == 3
    assert lookup.exit_code({"Events": [{"Type": "Started"}]}) is None


def test_task_events_are_plain_dictionaries():
    event = {"Type": "Terminated", "DisplayMessage": "Exit Code: 3", "Details": {"exit_code": "3"}, "Time": 1.5e18}
    [converted] = lookup.task_events({"Events": [event]})
    assert converted["type"] == "Terminated" and converted["message"] == "Exit Code: 3"
    assert converted["details"] == {"exit_code": "3"}
    assert converted["time"].isoformat() == "2017-07-14T02:40:00+00:00"


# -- placement failures ---------------------------------------------------------------------------


def test_placement_failures_in_nomads_terms():
    evaluations = [
        {
            "CreateIndex": 11,
            "Status": "complete",
            "BlockedEval": "b",
            "FailedTGAllocs": {
                "app": {
                    "NodesEvaluated": 2,
                    "NodesInPool": 2,
                    "NodesAvailable": {"dc1": 2},
                    "ConstraintFiltered": {"missing drivers": 1},
                    "NodesExhausted": 1,
                    "DimensionExhausted": {"memory": 1},
                    "CoalescedFailures": 2,
                }
            },
        }
    ]
    assert lookup.placement_failures(evaluations) == [
        "group 'app': Constraint \"missing drivers\" filtered 1 node; Resources exhausted on 1 node; "
        'Dimension "memory" exhausted on 1 node; 2 more allocation(s) not placed for the same reasons'
    ]


def test_placement_failures_are_history_once_a_newer_evaluation_placed_everything():
    evaluations = [
        {"CreateIndex": 11, "Status": "complete", "BlockedEval": "b", "FailedTGAllocs": {"app": {}}},
        {"CreateIndex": 20, "Status": "complete"},
    ]
    assert lookup.placement_failures(evaluations) == []


def test_no_nodes_is_explained():
    metric = {"NodesEvaluated": 0, "NodesInPool": 0, "NodePool": "default", "NodesAvailable": {"dc1": 0}}
    assert lookup.describe_metric(metric) == "no nodes in node pool 'default'; no nodes available in datacenters dc1"


def test_a_variable_the_template_never_reads_names_the_closest_one():
    with pytest.raises(specs.JobError, match=r"has no variable 'memroy' \(did you mean 'memory'\?\); it reads: args,"):
        specs.render_job("java-batch", {"jar_path": "/x.jar", "memroy": 300})


def test_variables_of_extended_templates_count_as_known():
    rendered = render("java-service", {"jar_path": "/x.jar", "memory": 300, "cpu": 100})
    assert "memory = 300" in rendered.hcl


def test_driver_errors_lose_their_grpc_wrapping():
    event = {"Type": "Driver Failure", "DisplayMessage": "rpc error: code = Unknown desc = jar_path /x: file not found"}
    assert lookup.event_message(event) == "jar_path /x: file not found"


def test_task_events_match_by_type_and_message_with_or_without_case():
    events = [
        {"type": "Driver Failure", "message": "jar_path local/x.jar: file not found"},
        {"type": "Restarting", "message": "Restart within policy"},
    ]
    assert lookup.matching_events(events, "Driver Failure", "file not found") == events[:1]
    assert lookup.matching_events(events, "driver failure", "FILE NOT FOUND") == []
    assert lookup.matching_events(events, "driver failure", "FILE NOT FOUND", ignore_case=True) == events[:1]
    assert lookup.matching_events(events, "Restarting", "^restart within", regexp=True) == []
    assert lookup.matching_events(events, "Restarting", "^restart within", regexp=True, ignore_case=True) == events[1:]
    assert lookup.matching_events(events, "Restarting", None) == events[1:]
