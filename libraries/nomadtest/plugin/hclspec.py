"""A config as the Nomad client sends it to a plugin: decoded by the plugin's own schema, then msgpack.

The client decodes a job's ``config {}`` (or the agent's ``plugin { config {} }``) with the hclspec
the plugin returned from ``TaskConfigSchema`` (``ConfigSchema``): every attribute of the schema is
present in the result, null when not given, its ``Default`` when one applies; blocks absent are
null (``Block``) or empty (``BlockList``, ``BlockSet``, ``BlockMap``); values are converted to the
attribute's type; an argument the schema does not know, a required one missing, a value that cannot
be converted are refused. The result goes to the plugin as msgpack (cty writes whole numbers as
integers). A config here is a dict as HCL would give it: a block is a dict, or a list of dicts.
"""

from __future__ import annotations

from typing import Any

import msgpack

from nomadtest.plugin.hclvalue import ConfigError, convert, parse_literal, parse_type


def decode(spec: Any, config: dict[str, Any] | None, where: str = "config") -> Any:
    """``config`` decoded by ``spec`` (an ``hclspec.Spec`` message), defaults applied."""
    body = dict(config or {})
    used: set[str] = set()
    value = _evaluate(spec, body, used, where)
    unknown = sorted(set(body) - used)
    if unknown:
        raise ConfigError(f'{where}: Unsupported argument; an argument named "{unknown[0]}" is not expected here.')
    return value


def encode(spec: Any, config: dict[str, Any] | None, where: str = "config") -> bytes:
    """What the client sends: ``config`` decoded by ``spec``, in msgpack."""
    return pack(decode(spec, config, where))


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False) if data else None


def _evaluate(spec: Any, body: dict[str, Any], used: set[str], where: str, name: str = "") -> Any:
    kind = spec.WhichOneof("block")
    if kind is None:
        return None
    inner = getattr(spec, kind)
    return _EVALUATORS[kind](inner, body, used, where, name)


def _object(spec: Any, body: dict, used: set, where: str, name: str) -> dict:
    return {key: _evaluate(attribute, body, used, where, key) for key, attribute in spec.attributes.items()}


def _array(spec: Any, body: dict, used: set, where: str, name: str) -> list:
    return [_evaluate(value, body, used, where) for value in spec.values]


def _attr(spec: Any, body: dict, used: set, where: str, name: str) -> Any:
    key = spec.name or name
    used.add(key)
    if body.get(key) is None:
        if spec.required:
            raise ConfigError(f'{where}: Missing required argument; the argument "{key}" is required.')
        return None
    return convert(body[key], parse_type(spec.type), f"{where}.{key}")


def _blocks(body: dict, key: str, where: str) -> list[dict]:
    given = body.get(key)
    blocks = [] if given is None else given if isinstance(given, list) else [given]
    for block in blocks:
        if not isinstance(block, dict):
            raise ConfigError(f'{where}: "{key}" is a block; give it as a dict (or a list of dicts), not {block!r}.')
    return blocks


def _block_body(nested: Any, block: dict, where: str) -> Any:
    return decode(nested, block, where)


def _block(spec: Any, body: dict, used: set, where: str, name: str) -> Any:
    key = spec.name or name
    used.add(key)
    blocks = _blocks(body, key, where)
    if len(blocks) > 1:
        raise ConfigError(f'{where}: Duplicate {key} block; only one "{key}" block is allowed.')
    if not blocks:
        if spec.required:
            raise ConfigError(f'{where}: Missing {key} block; a block of type "{key}" is required here.')
        return None
    return _block_body(spec.nested, blocks[0], f"{where}.{key}")


def _block_attrs(spec: Any, body: dict, used: set, where: str, name: str) -> Any:
    key = spec.name or name
    used.add(key)
    blocks = _blocks(body, key, where)
    if not blocks:
        if spec.required:
            raise ConfigError(f'{where}: Missing {key} block; a block of type "{key}" is required here.')
        return None
    return convert(blocks[0], ("map", parse_type(spec.type)), f"{where}.{key}")


def _block_list(spec: Any, body: dict, used: set, where: str, name: str) -> list:
    key = spec.name or name
    used.add(key)
    blocks = _blocks(body, key, where)
    if spec.min_items and len(blocks) < spec.min_items:
        raise ConfigError(f'{where}: Insufficient {key} blocks; at least {spec.min_items} "{key}" blocks are required.')
    if spec.max_items and len(blocks) > spec.max_items:
        raise ConfigError(f'{where}: Too many {key} blocks; no more than {spec.max_items} "{key}" blocks are allowed.')
    items = [_block_body(spec.nested, block, f"{where}.{key}[{index}]") for index, block in enumerate(blocks)]
    if spec.DESCRIPTOR.name == "BlockSet":
        return [item for index, item in enumerate(items) if item not in items[:index]]
    return items


def _block_map(spec: Any, body: dict, used: set, where: str, name: str) -> dict:
    key = spec.name or name
    used.add(key)
    given = body.get(key) or {}
    if not isinstance(given, dict):
        raise ConfigError(f'{where}: "{key}" is a map of labelled blocks; give it as a dict, not {given!r}.')
    depth = len(spec.labels)

    def walk(level: dict, labels: int, path: str) -> dict:
        if labels == 0:
            return _block_body(spec.nested, level, path)
        return {label: walk(inner, labels - 1, f'{path}["{label}"]') for label, inner in level.items()}

    return walk(given, depth, f"{where}.{key}")


def _default(spec: Any, body: dict, used: set, where: str, name: str) -> Any:
    value = _evaluate(spec.primary, body, used, where, name)
    return _evaluate(spec.default, body, used, where, name) if value is None else value


def _literal(spec: Any, body: dict, used: set, where: str, name: str) -> Any:
    return parse_literal(spec.value)


_EVALUATORS = {
    "object": _object,
    "array": _array,
    "Attr": _attr,
    "block_value": _block,
    "block_attrs": _block_attrs,
    "block_list": _block_list,
    "block_set": _block_list,
    "block_map": _block_map,
    "default": _default,
    "literal": _literal,
}


def attributes(spec: Any) -> dict[str, str]:
    """The top-level arguments of a schema, each as ``type``, ``type (required)`` or ``type = default``."""
    found = {}
    if spec.WhichOneof("block") != "object":
        return found
    for key, attribute in spec.object.attributes.items():
        found[key] = _describe(attribute)
    return dict(sorted(found.items()))


def _describe(spec: Any) -> str:
    kind = spec.WhichOneof("block")
    inner = getattr(spec, kind) if kind else None
    if kind == "Attr":
        return (inner.type or "any") + (" (required)" if inner.required else "")
    if kind == "default":
        default = inner.default.literal.value if inner.default.WhichOneof("block") == "literal" else "..."
        return f"{_describe(inner.primary)} = {default}"
    if kind in ("block_value", "block_list", "block_set", "block_map", "block_attrs"):
        return kind.replace("_value", "").replace("_", " ")
    return kind or "nothing"
