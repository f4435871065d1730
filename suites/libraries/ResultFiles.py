"""The project's self-test keywords about what a run wrote into its result files; not shipped."""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

from robot.api.deco import keyword, library
from robot.api.types import Secret

from nomadtest import __version__
from nomadtest.library import ASSERTION

# log.html keeps its texts in `window.output["strings"]`: "*text" as is, others zlib-compressed in base64.
_STRINGS = re.compile(r'window\.output\["strings"\] = window\.output\["strings"\]\.concat\((\[.*?\])\);')


def log_texts(log_html: str) -> list[str]:
    """Every text log.html holds, decompressed."""
    texts = []
    for array in _STRINGS.findall(log_html):
        # Robot writes "</" as "\x3c/" (JavaScript, not JSON).
        for item in json.loads(array.replace("\\x3c", "\\u003c")):
            texts.append(item[1:] if item.startswith("*") else zlib.decompress(base64.b64decode(item)).decode())
    return texts


@library(scope="GLOBAL", version=__version__, doc_format="ROBOT")
class ResultFiles:
    """Search a run's output.xml and log.html, the texts log.html compresses included."""

    @keyword(tags=[ASSERTION])
    def result_files_should_not_contain_secret(self, output_dir: str, secret: Secret, output: str, log: str) -> int:
        """Fails when the ``output`` XML or the ``log`` HTML in ``output_dir`` holds the secret's value,
        saying how often but not the value. Returns how often output.xml says ``<secret>`` instead.
        """
        directory = Path(output_dir)
        xml = (directory / output).read_text()
        texts = log_texts((directory / log).read_text())
        if not texts:
            raise AssertionError(f"{directory / log} holds no texts: not a log.html this keyword can read.")
        found = {output: xml.count(secret.value), log: sum(text.count(secret.value) for text in texts)}
        leaked = [f"{name} holds it {count} times" for name, count in found.items() if count]
        if leaked:
            raise AssertionError(f"The secret reached the results: {', '.join(leaked)}.")
        return xml.count("&lt;secret&gt;")
