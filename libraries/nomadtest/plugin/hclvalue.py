"""Values and types of HCL as a driver's config schema uses them: literals, type expressions, conversion.

A schema's ``Literal`` is an HCL expression in text (``"crun"``, ``["CAP_CHOWN"]``, ``true``) and an
``Attr`` names its type in HCL's type language (``list(string)``). The Nomad client converts what a
job gives to that type (a number given as ``"5"`` becomes 5) and refuses what cannot be converted;
this does the same for the values of a Python dict, so the msgpack a plugin receives is what a client
would send. Numbers that are whole are integers, as cty's msgpack writes them.
"""

from __future__ import annotations

import json
import re
from typing import Any

PRIMITIVES = ("string", "number", "bool", "any")
Type = tuple  # ("string",) / ("list", Type) / ("object", {name: Type}) / ("tuple", [Type, ...])


class ConfigError(ValueError):
    """A config the Nomad client would refuse before it reaches the plugin."""

    ROBOT_SUPPRESS_NAME = True


# -- type expressions ------------------------------------------------------------------------------

_TYPE_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[(){}\[\],=:])")


def parse_type(text: str) -> Type:
    """``list(string)`` as ``("list", ("string",))``; an empty text is ``any``."""
    tokens = _TYPE_TOKEN.findall(text)
    if not text.strip():
        return ("any",)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ConfigError(f"Unreadable type expression {text!r} in the plugin's schema.")
    parsed, rest = _type(tokens, text)
    if rest:
        raise ConfigError(f"Unreadable type expression {text!r} in the plugin's schema.")
    return parsed


def _type(tokens: list[str], text: str) -> tuple[Type, list[str]]:
    if not tokens:
        raise ConfigError(f"Unreadable type expression {text!r} in the plugin's schema.")
    name, rest = tokens[0], tokens[1:]
    if name in PRIMITIVES:
        return (name,), rest
    if name in ("list", "set", "map") and rest[:1] == ["("]:
        inner, rest = _type(rest[1:], text)
        return (name, inner), _expect(rest, ")", text)
    if name == "object" and rest[:2] == ["(", "{"]:
        rest, attributes = rest[2:], {}
        while rest and rest[0] != "}":
            key, rest = rest[0], _expect(rest[1:], "=", text)
            attributes[key], rest = _type(rest, text)
            rest = rest[1:] if rest[:1] == [","] else rest
        return ("object", attributes), _expect(_expect(rest, "}", text), ")", text)
    if name == "tuple" and rest[:2] == ["(", "["]:
        rest, elements = rest[2:], []
        while rest and rest[0] != "]":
            element, rest = _type(rest, text)
            elements.append(element)
            rest = rest[1:] if rest[:1] == [","] else rest
        return ("tuple", elements), _expect(_expect(rest, "]", text), ")", text)
    raise ConfigError(f"Unreadable type expression {text!r} in the plugin's schema.")


def _expect(tokens: list[str], token: str, text: str) -> list[str]:
    if tokens[:1] != [token]:
        raise ConfigError(f"Unreadable type expression {text!r} in the plugin's schema.")
    return tokens[1:]


def describe(kind: Type) -> str:
    """A type as HCL writes it."""
    if kind[0] in PRIMITIVES:
        return kind[0]
    if kind[0] == "object":
        return "object({" + ", ".join(f"{k} = {describe(t)}" for k, t in kind[1].items()) + "})"
    if kind[0] == "tuple":
        return "tuple([" + ", ".join(describe(t) for t in kind[1]) + "])"
    return f"{kind[0]}({describe(kind[1])})"


# -- conversion ------------------------------------------------------------------------------------


def convert(value: Any, kind: Type, where: str) -> Any:
    """``value`` converted to ``kind`` as cty converts it, or a ConfigError naming ``where``."""
    if value is None or kind[0] == "any":
        return _whole(value)
    converter = _CONVERTERS[kind[0]]
    return converter(value, kind, where)


def _whole(value: Any) -> Any:
    """Whole floats as integers, inside collections too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_whole(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    return value


def _wrong(value: Any, kind: Type, where: str, why: str = "") -> ConfigError:
    reason = why or f"{describe(kind)} required"
    return ConfigError(f"Incorrect attribute value type for {where}: {reason}, got {value!r}.")


def _string(value: Any, kind: Type, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(_whole(value))
    if isinstance(value, str):
        return value
    raise _wrong(value, kind, where)


def _number(value: Any, kind: Type, where: str) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _whole(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return int(value) if value.strip().lstrip("-").isdigit() else _whole(float(value))
    raise _wrong(value, kind, where, "a number is required")


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _bool(value: Any, kind: Type, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _wrong(value, kind, where, "a bool is required")


def _sequence(value: Any, kind: Type, where: str) -> list:
    if not isinstance(value, list | tuple):
        raise _wrong(value, kind, where)
    items = [convert(item, kind[1], f"{where}[{index}]") for index, item in enumerate(value)]
    if kind[0] == "set":
        unique = []
        for item in items:
            if item not in unique:
                unique.append(item)
        return unique
    return items


def _map(value: Any, kind: Type, where: str) -> dict:
    if not isinstance(value, dict):
        raise _wrong(value, kind, where)
    return {str(key): convert(item, kind[1], f'{where}["{key}"]') for key, item in value.items()}


def _object(value: Any, kind: Type, where: str) -> dict:
    if not isinstance(value, dict):
        raise _wrong(value, kind, where)
    extra = sorted(set(value) - set(kind[1]))
    if extra:
        raise _wrong(value, kind, where, f"attribute {extra[0]!r} is not expected in {describe(kind)}")
    return {name: convert(value.get(name), inner, f"{where}.{name}") for name, inner in kind[1].items()}


def _tuple(value: Any, kind: Type, where: str) -> list:
    if not isinstance(value, list | tuple) or len(value) != len(kind[1]):
        raise _wrong(value, kind, where)
    return [convert(item, inner, f"{where}[{i}]") for i, (item, inner) in enumerate(zip(value, kind[1], strict=True))]


_CONVERTERS = {
    "string": _string,
    "number": _number,
    "bool": _bool,
    "list": _sequence,
    "set": _sequence,
    "map": _map,
    "object": _object,
    "tuple": _tuple,
}


# -- literal expressions ---------------------------------------------------------------------------

_LITERAL_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_-]*)|(?P<punct>[\[\]{},=:]))"
)
_WORDS = {"true": True, "false": False, "null": None}


def parse_literal(text: str) -> Any:
    """The value of an HCL literal expression: strings, numbers, bools, null, lists and objects."""
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        found = _LITERAL_TOKEN.match(text, position)
        if not found:
            raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema (at {text[position:][:20]!r}).")
        tokens.append((found.lastgroup, found[found.lastgroup]))
        position = found.end()
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
    value, rest = _literal(tokens, text)
    if rest:
        raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema.")
    return _whole(value)


def _literal(tokens: list[tuple[str, str]], text: str) -> tuple[Any, list[tuple[str, str]]]:
    if not tokens:
        raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema.")
    (kind, token), rest = tokens[0], tokens[1:]
    if kind == "string":
        return json.loads(token), rest
    if kind == "number":
        return (float(token) if any(c in token for c in ".eE") else int(token)), rest
    if kind == "word" and token in _WORDS:
        return _WORDS[token], rest
    if token == "[":
        items = []
        while rest and rest[0][1] != "]":
            item, rest = _literal(rest, text)
            items.append(item)
            rest = rest[1:] if rest[:1] and rest[0][1] == "," else rest
        return items, _close(rest, "]", text)
    if token == "{":
        members = {}
        while rest and rest[0][1] != "}":
            key = json.loads(rest[0][1]) if rest[0][0] == "string" else rest[0][1]
            if len(rest) < 2 or rest[1][1] not in ("=", ":"):
                raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema.")
            members[key], rest = _literal(rest[2:], text)
            rest = rest[1:] if rest[:1] and rest[0][1] == "," else rest
        return members, _close(rest, "}", text)
    raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema (unexpected {token!r}).")


def _close(tokens: list[tuple[str, str]], token: str, text: str) -> list[tuple[str, str]]:
    if not tokens or tokens[0][1] != token:
        raise ConfigError(f"Unreadable literal {text!r} in the plugin's schema (missing {token!r}).")
    return tokens[1:]
