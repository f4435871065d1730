"""The one shape of every keyword library: DynamicCore over keyword components sharing one base.

Keyword tags group the keywords in libdoc and let users select them (``Lifecycle``, ``Wait``,
``Assertion``, ``Query``, ``Forensics``, ``Crash``).
"""

from __future__ import annotations

from robotlibcore import DynamicCore

from nomadtest import __version__

LIFECYCLE = "Lifecycle"
WAIT = "Wait"
ASSERTION = "Assertion"
QUERY = "Query"
FORENSICS = "Forensics"
CRASH = "Crash"
PERFORMANCE = "Performance"


class LibraryComponent:
    """A group of keywords of one library; ``self.library`` is the library instance they share."""

    def __init__(self, library: NomadLibrary) -> None:
        self.library = library


class NomadLibrary(DynamicCore):
    """Base of the framework's libraries: one instance per run, one version, keywords from components."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(self, components: list[type[LibraryComponent]]) -> None:
        super().__init__([component(self) for component in components])
