"""The internal package's layers: a module may import its own layer and the ones below, never above.

The order is written down once, here, and drawn in docs/architecture.md. Imports under
``if TYPE_CHECKING:`` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "libraries" / "nomadtest"
KEYWORD_LIBRARIES = (
    "ArtifactServer",
    "DriverPlugin",
    "LogVerifier",
    "NomadJob",
    "NomadServer",
    "Performance",
    "Recovery",
)
# Lowest first. A top-level module is named as such; a sub-package holds all its modules.
LAYERS = [
    {
        "nomadtest",
        "nomadtest.waiting",
        "nomadtest.versions",
        "nomadtest.diff",
        "nomadtest.failures",
        "nomadtest.robotvars",
        "nomadtest.deprecation",
    },
    {"nomadtest.templating", "nomadtest.api"},
    {"nomadtest.registry", "nomadtest.listener", "nomadtest.library", "nomadtest.profiles"},
    {"nomadtest.host"},
    {"nomadtest.jobs"},
    # The driver plugin protocol client: JAR task configs from the profile (jobs), leak scopes (host).
    {"nomadtest.plugin"},
    {"nomadtest.agents"},
    {"nomadtest.perf"},
    # The conformance kit runs robot over the suites and reads its results; nothing imports it.
    {"nomadtest.kit"},
]


def layer_of(module: str) -> int:
    """The layer of ``nomadtest.x`` or ``nomadtest.pkg.x``."""
    parts = module.split(".")
    for candidate in (".".join(parts[:2]), parts[0]):
        for rank, layer in enumerate(LAYERS):
            if candidate in layer:
                return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(tree: ast.Module) -> list[str]:
    """Modules imported at run time: not under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skipped.update(id(child) for inner in node.body for child in ast.walk(inner))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # ``from nomadtest.jobs import lookup`` imports nomadtest.jobs.lookup
            found += [f"{node.module}.{alias.name}" for alias in node.names if node.module.startswith("nomadtest")]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


# The plugin protocol's stubs are generated (make proto), not written here.
GENERATED = PACKAGE / "plugin" / "protocol"
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if GENERATED not in path.parents)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_no_module_imports_a_higher_layer(path):
    importer = module_name(path)
    rank = layer_of(importer)
    upward = []
    for imported in runtime_imports(ast.parse(path.read_text())):
        if imported.split(".")[0] in KEYWORD_LIBRARIES:
            upward.append(f"{imported} (a keyword library)")
        elif imported.startswith("nomadtest.") and layer_of(imported) > rank:
            upward.append(f"{imported} (layer {layer_of(imported)})")
    assert not upward, f"{importer} (layer {rank}) imports from above: {', '.join(upward)}"


def test_every_module_has_a_layer_and_none_is_too_long():
    too_long = {module_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    for path in MODULES:
        layer_of(module_name(path))
    assert not too_long, f"modules over 400 lines: {too_long}"


def test_a_violation_is_caught():
    tree = ast.parse("from nomadtest.agents import manager\nfrom typing import TYPE_CHECKING\n")
    assert "nomadtest.agents.manager" in runtime_imports(tree)
    assert layer_of("nomadtest.agents.manager") > layer_of("nomadtest.jobs.lookup")
    typed = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nomadtest.perf import store\n")
    assert runtime_imports(typed) == ["typing"]


def test_every_module_imports_first_without_a_cycle():
    """Each module imported first, in a fresh interpreter, as a keyword library or script may do."""
    names = [module_name(path) for path in MODULES]
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'nomadtest' or m.startswith('nomadtest.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as error:\n"
        "        failed.append(f'{name}: {error}')\n"
        "print('\\n'.join(failed))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert answer.stdout.strip() == ""
