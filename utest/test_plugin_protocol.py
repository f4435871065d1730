"""The pure parts of the driver plugin client: handshake lines, HCL values, configs as the client sends them."""

from __future__ import annotations

import msgpack
import pytest

from nomadtest import profiles
from nomadtest.plugin import claims, hclspec, hclvalue, launch, stubs
from nomadtest.plugin.hclvalue import ConfigError

SPEC = stubs.protocol().hclspec


def spec(**kinds) -> object:
    """An ``Object`` spec of the given attribute specs."""
    return SPEC.Spec(object=SPEC.Object(attributes=kinds))


def attr(name: str, kind: str, required: bool = False) -> object:
    return SPEC.Spec(Attr=SPEC.Attr(name=name, type=kind, required=required))


def default(primary: object, literal: str) -> object:
    return SPEC.Spec(default=SPEC.Default(primary=primary, default=SPEC.Spec(literal=SPEC.Literal(value=literal))))


# -- handshake -------------------------------------------------------------------------------------


def test_a_grpc_handshake_over_a_unix_socket_is_read():
    shake = launch.parse_handshake("1|2|unix|/tmp/plugin123|grpc\n")
    assert (shake.network, shake.address, shake.protocol) == ("unix", "/tmp/plugin123", "grpc")
    assert shake.target == "unix:/tmp/plugin123"


def test_a_tcp_handshake_dials_the_address():
    assert launch.parse_handshake("1|2|tcp|127.0.0.1:10001|grpc").target == "127.0.0.1:10001"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("Hello, I am not a plugin", "not a go-plugin handshake"),
        ("x|2|unix|/tmp/p|grpc", "no protocol versions"),
        ("2|2|unix|/tmp/p|grpc", "core protocol 2"),
        ("1|1|unix|/tmp/p|grpc", "plugin protocol 1"),
        ("1|2|pipe|/tmp/p|grpc", "neither unix nor tcp"),
        ("1|2|unix|/tmp/p", "serves netrpc"),
        ("1|2|unix|/tmp/p|netrpc", "serves netrpc"),
    ],
)
def test_a_line_that_is_no_nomad_handshake_is_refused_saying_why(line, says):
    with pytest.raises(launch.PluginStartError, match=says):
        launch.parse_handshake(line)


def test_the_plugin_gets_the_magic_cookie_and_protocol_version():
    environment = launch.plugin_environment({"CRUNJAR_FAULTS": "drop-env"})
    assert environment[launch.MAGIC_COOKIE_KEY] == launch.MAGIC_COOKIE_VALUE
    assert environment["PLUGIN_PROTOCOL_VERSIONS"] == "2"
    assert environment["CRUNJAR_FAULTS"] == "drop-env"


# -- HCL values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("string", ("string",)),
        ("", ("any",)),
        ("list(string)", ("list", ("string",))),
        ("map(list(number))", ("map", ("list", ("number",)))),
        ("object({a = string, b = bool})", ("object", {"a": ("string",), "b": ("bool",)})),
        ("tuple([string, number])", ("tuple", [("string",), ("number",)])),
    ],
)
def test_type_expressions_are_parsed(text, parsed):
    assert hclvalue.parse_type(text) == parsed


@pytest.mark.parametrize("text", ["list(", "strin", "list(string))", "object({a string})"])
def test_an_unreadable_type_is_refused(text):
    with pytest.raises(ConfigError, match="Unreadable type"):
        hclvalue.parse_type(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"/run/crunjar"', "/run/crunjar"),
        ('"a \\"quoted\\" word"', 'a "quoted" word'),
        ("true", True),
        ("null", None),
        ("17", 17),
        ("2.0", 2),
        ("0.5", 0.5),
        ('["CAP_CHOWN", "CAP_KILL"]', ["CAP_CHOWN", "CAP_KILL"]),
        ("[]", []),
        ('{ a = 1, "b": [true] }', {"a": 1, "b": [True]}),
    ],
)
def test_literals_are_parsed(text, value):
    assert hclvalue.parse_literal(text) == value


def test_an_unreadable_literal_is_refused():
    with pytest.raises(ConfigError, match="Unreadable literal"):
        hclvalue.parse_literal("[1, 2")


@pytest.mark.parametrize(
    ("value", "kind", "converted"),
    [
        (5, "string", "5"),
        (True, "string", "true"),
        ("5", "number", 5),
        ("2.5", "number", 2.5),
        (3.0, "number", 3),
        ("true", "bool", True),
        ([1, "two"], "list(string)", ["1", "two"]),
        (["a", "a", "b"], "set(string)", ["a", "b"]),
        ({"k": 1}, "map(string)", {"k": "1"}),
        ({"a": "x"}, "object({a = string, b = number})", {"a": "x", "b": None}),
        ({"deep": [1.0]}, "any", {"deep": [1]}),
    ],
)
def test_values_are_converted_as_the_client_converts_them(value, kind, converted):
    assert hclvalue.convert(value, hclvalue.parse_type(kind), "x") == converted


@pytest.mark.parametrize(
    ("value", "kind"),
    [("five", "number"), (True, "number"), ("yes", "bool"), ("a", "list(string)"), ({"c": 1}, "object({a = string})")],
)
def test_a_value_that_cannot_be_converted_is_refused_naming_where(value, kind):
    with pytest.raises(ConfigError, match=r"task\.option"):
        hclvalue.convert(value, hclvalue.parse_type(kind), "task.option")


# -- configs as the client sends them ---------------------------------------------------------------

CRUN_LIKE = spec(
    jar_path=attr("jar_path", "string"),
    args=attr("args", "list(string)"),
    java_version=attr("java_version", "number"),
    runtime=default(attr("runtime", "string"), '"crun"'),
    caps=default(attr("caps", "list(string)"), '["CAP_KILL"]'),
)


def test_every_attribute_is_sent_defaults_applied_absent_ones_null():
    decoded = hclspec.decode(CRUN_LIKE, {"jar_path": "/a.jar", "java_version": "17"})
    assert decoded == {
        "jar_path": "/a.jar",
        "args": None,
        "java_version": 17,
        "runtime": "crun",
        "caps": ["CAP_KILL"],
    }


def test_a_value_given_wins_over_the_default():
    assert hclspec.decode(CRUN_LIKE, {"runtime": "runc"})["runtime"] == "runc"


def test_the_config_goes_as_msgpack_with_whole_numbers_as_integers():
    sent = hclspec.encode(CRUN_LIKE, {"java_version": 21.0, "args": ["x"]})
    assert msgpack.unpackb(sent) == hclspec.decode(CRUN_LIKE, {"java_version": 21, "args": ["x"]})
    assert isinstance(msgpack.unpackb(sent)["java_version"], int)


def test_an_unknown_argument_is_refused_as_the_client_refuses_it():
    with pytest.raises(ConfigError, match='task "t" config: Unsupported argument; an argument named "jar"'):
        hclspec.decode(CRUN_LIKE, {"jar": "/a.jar"}, 'task "t" config')


def test_a_required_argument_missing_is_refused():
    with pytest.raises(ConfigError, match='"command" is required'):
        hclspec.decode(spec(command=attr("command", "string", required=True)), {})


def test_blocks_are_null_or_empty_when_absent_and_decoded_by_their_spec_when_given():
    nested = spec(size=default(attr("size", "number"), "10"))
    schema = spec(
        logging=SPEC.Spec(block_value=SPEC.Block(name="logging", nested=nested)),
        mount=SPEC.Spec(block_list=SPEC.BlockList(name="mount", nested=nested, max_items=2)),
    )
    assert hclspec.decode(schema, {}) == {"logging": None, "mount": []}
    assert hclspec.decode(schema, {"logging": {}, "mount": [{"size": 1}, {}]}) == {
        "logging": {"size": 10},
        "mount": [{"size": 1}, {"size": 10}],
    }
    with pytest.raises(ConfigError, match="Too many mount blocks"):
        hclspec.decode(schema, {"mount": [{}, {}, {}]})


def test_schema_arguments_are_described_with_types_and_defaults():
    assert hclspec.attributes(CRUN_LIKE)["runtime"] == 'string = "crun"'
    assert hclspec.attributes(spec(command=attr("command", "string", required=True))) == {
        "command": "string (required)"
    }


# -- profile claims --------------------------------------------------------------------------------


def test_a_claim_the_plugin_denies_is_named():
    profile = profiles.DriverProfile(name="milo", source="milo.toml", capabilities=frozenset({"exec", "signals"}))
    wrong = claims.inconsistencies(profile, {"exec": False, "send_signals": True, "fs_isolation": "none"})
    assert len(wrong) == 1 and "claims 'exec'" in wrong[0]
    assert claims.inconsistencies(profile, {"exec": True, "send_signals": True}) == []


def test_options_the_profile_writes_must_be_in_the_schemas():
    crunjar = profiles.load("crunjar")
    assert claims.unknown_task_options(crunjar, {"jar_path": "string"}) == [
        "args",
        "class",
        "class_path",
        "jvm_options",
    ]
    assert "state_dir" in claims.unknown_plugin_options(crunjar, {})
