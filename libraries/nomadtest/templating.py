"""Jinja2 rendering of the project's templates, with Python values written as HCL.

Templates run with ``StrictUndefined``: a variable the caller forgot is an error
that names the variable and the template line, never an empty string that
Nomad would later reject with a less helpful message.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from nomadtest.versions import NomadVersion


def _templates_dir() -> Path:
    """``templates/`` of the checkout, or the copy installed as package data beside this package."""
    installed = Path(__file__).resolve().parent / "templates"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "templates"


TEMPLATES_DIR = _templates_dir()
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class TemplateError(Exception):
    """A template could not be rendered; the message names the template, line and cause."""


def hcl(value: Any, indent: int = 0) -> str:
    """``value`` as an HCL expression: bools, numbers, strings, lists and maps (as objects)."""
    pad = "  " * indent
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises an UndefinedError that names the missing variable
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{\n" + hcl_body(value, indent + 1) + "\n" + pad + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(hcl(item, indent) for item in value) + "]"
    if value is None:
        raise TypeError("HCL has no null value: leave the key out instead of setting it to None.")
    raise TypeError(f"Cannot write {type(value).__name__} {value!r} as HCL.")


def hcl_key(key: Any) -> str:
    key = str(key)
    return key if _IDENTIFIER.match(key) else json.dumps(key, ensure_ascii=False)


def hcl_body(mapping: Mapping[str, Any], indent: int = 0) -> str:
    """The attributes of ``mapping`` as ``key = value`` lines, for the inside of a block."""
    pad = "  " * indent
    lines = []
    for key, value in mapping.items():
        try:
            lines.append(f"{pad}{hcl_key(key)} = {hcl(value, indent)}")
        except TypeError as error:
            raise TypeError(f"Key '{key}': {error}") from None
    return "\n".join(lines)


def environment(directory: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["hcl"] = hcl
    env.filters["hcl_body"] = hcl_body
    env.tests["nomad_at_least"] = nomad_at_least
    return env


def nomad_at_least(version: Any, minimum: str) -> bool:
    """Jinja test for templates that follow the agent's version:
    ``{% if nomad_version is nomad_at_least("1.8.0") %}``."""
    if isinstance(version, jinja2.Undefined):
        str(version)  # names the missing variable
    return NomadVersion.parse(str(version)).at_least(minimum)


def render(name: str, variables: Mapping[str, Any], directory: Path = TEMPLATES_DIR) -> str:
    """Render template ``name`` (relative to ``directory``) with ``variables``."""
    env = environment(directory)
    try:
        template = env.get_template(name)
        return template.render(**variables)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"Template '{name}' not found in {directory}.") from None
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"Template '{name}' line {error.lineno}: {error.message}") from None
    except (jinja2.UndefinedError, TypeError) as error:
        line = _template_line(error, directory / name)
        where = f" line {line}" if line else ""
        raise TemplateError(f"Template '{name}'{where}: {error}") from None


def _template_line(error: BaseException, path: Path) -> int | None:
    # Jinja2 rewrites tracebacks so that frames of the template carry its file name and line.
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == str(path):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def template_variables(env: jinja2.Environment, name: str | None = None, source: str | None = None) -> set[str]:
    """Every variable the template named (or given as ``source``) and the templates it extends or includes read."""
    if source is None:
        source, _, _ = env.loader.get_source(env, name)
    found = set(_variables_read(env, name, source))
    for referenced in _templates_referenced(env, name, source):
        found |= template_variables(env, referenced)
    return found


# Worked out once per template text: parsing and Jinja's analysis cost as much as compiling the
# template, and every submission asks.
@functools.lru_cache(maxsize=256)
def _variables_read(env: jinja2.Environment, name: str | None, source: str) -> frozenset[str]:
    return frozenset(jinja2.meta.find_undeclared_variables(env.parse(source)))


@functools.lru_cache(maxsize=256)
def _templates_referenced(env: jinja2.Environment, name: str | None, source: str) -> tuple[str, ...]:
    found = jinja2.meta.find_referenced_templates(env.parse(source))
    return tuple(referenced for referenced in found if referenced and referenced != name)


def header_comment(path: Path) -> str:
    """The ``{# ... #}`` comment a template opens with: where the project documents its variables."""
    text = path.read_text()
    if not text.startswith("{#"):
        return ""
    return text[2 : text.find("#}")].strip("\n")
