"""LogVerifier: read and verify the stdout and stderr of Nomad tasks, and their exit codes."""

from __future__ import annotations

from nomadtest import __version__
from nomadtest.library import NomadLibrary

from .assertions import Assertions
from .reading import Reading

__all__ = ["LogVerifier", "__version__"]


class LogVerifier(NomadLibrary):
    """Read and verify the stdout and stderr of Nomad tasks.

    = Selecting the task =

    Every keyword takes the job id, then optionally ``stream`` (``stdout`` or ``stderr``, default
    ``stdout``), ``task`` (default: the only task of the job's group), ``alloc_id`` (default: the
    job's most recently created allocation) and ``agent`` (default: the agent the job was submitted
    to while it runs, else the one started most recently), as the NomadJob library does.

    = Complete logs =

    Nomad rotates task logs into numbered files (``logs { max_files, max_file_size }`` in the
    job). `Get Task Logs` and the assertions read all the files Nomad still keeps, in order, so
    the text is complete unless Nomad has already deleted the oldest file. Bytes that are not
    UTF-8 are replaced with U+FFFD.

    = Failures =

    Assertions fail with the last lines of the log, and name the line closest to the text that
    was expected; `Task Log Should Be Equal` also logs a coloured unified diff.
    """

    def __init__(self) -> None:
        super().__init__([Reading, Assertions])
