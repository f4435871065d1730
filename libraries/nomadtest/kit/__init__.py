"""The conformance kit: the driver-agnostic suites against a team's own driver, one command, an honest
capability matrix (``nomad-e2e conformance``, see nomadtest.kit.cli).

The top layer of nomadtest: it runs robot over the suites and reads its results, and no keyword
library imports it.
"""
