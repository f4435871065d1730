*** Settings ***
Documentation    Story: a stable public API. A suite written against an earlier release keeps running: a keyword
...              that was replaced is kept as deprecated for at least one minor release and says so, once per
...              run. Each test runs a fixture suite in a robot process of its own.

Resource         ../../resources/common.resource
Library          ../libraries/RunRoots.py

Test Tags        area:framework    story:stable-api    needs:local-agents


*** Test Cases ***
A Suite Written For An Earlier Release Passes With One Deprecation Warning
    [Documentation]    The suite's teardown calls `Capture Forensics If Test Failed`, which 0.3 removed: both of
    ...    its tests pass, the run warns once that the keyword is deprecated, and nothing is left behind.
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/written_for_v02.robot
    Should Contain    ${output}    2 tests, 2 passed, 0 failed
    ${warnings}=    Evaluate    $output.count("Keyword 'Capture Forensics If Test Failed' is deprecated since 0.5.0")
    Should Be Equal As Integers    ${warnings}    1    Expected one deprecation warning in:\n${output}
    RunRoots.Run Root Should Be Clean    ${run_root}

Artifact Request Checks Count Only The Running Test's Requests
    [Documentation]    A suite's tests share one artifact server: each test's request checks count its own
    ...    requests (or all of them with ``scope=all``), `Clear Artifact Requests` forgets the earlier ones,
    ...    and every recorded status, of a served file or a missing one, is a plain int.
    ${output}    ${_}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/artifact_requests_per_test.robot
    Should Contain    ${output}    3 tests, 3 passed, 0 failed
