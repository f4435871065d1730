"""A run's report: log.html, report.html and xunit.xml written from its output.xml with the capability
matrix as top-level metadata, and the matrix as ``capabilities.md``.

Robot writes output.xml only and this writes the rest in the one pass robot would have made itself,
so the matrix is in log.html under pabot too, where no single robot process sees every result.
"""

from __future__ import annotations

from pathlib import Path

from robot.api import ExecutionResult, ResultWriter

from nomadtest.kit.matrix import Matrix

MATRIX_FILE = "capabilities.md"
METADATA = "Capabilities"


def write(output_xml: Path, driver: str) -> Matrix:
    outputdir = output_xml.parent
    result = ExecutionResult(output_xml)
    matrix = Matrix.of(result, driver)
    result.suite.metadata[METADATA] = matrix.robot_documentation()
    ResultWriter(result).write_results(
        log=str(outputdir / "log.html"),
        report=str(outputdir / "report.html"),
        xunit=str(outputdir / "xunit.xml"),
        loglevel="DEBUG:INFO",
    )
    (outputdir / MATRIX_FILE).write_text(matrix.markdown())
    return matrix
