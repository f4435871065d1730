*** Settings ***
Documentation       Story: leak detection. The teardown every recovery suite ends with fails the suite when its
...                 tasks left anything on the host, and lists each leftover precisely.

Library             OperatingSystem
Library             Process
Resource            ../../resources/recovery.resource

Test Teardown       Capture Forensics If Test Failed

Test Tags           story:recovery    area:recovery


*** Variables ***
${ROBOT}    ${CURDIR}/../../.venv/bin/robot


*** Test Cases ***
Suite That Leaves Resources Behind Fails Its Teardown Listing Each One
    [Documentation]    A fixture suite leaves a process and a bundle dir in its driver's state dir: its suite
    ...    teardown fails naming both, and the agents are still stopped and cleaned up.
    VAR    ${run_root}=    ${TEMPDIR}/e2e-leaky-${{ uuid.uuid4().hex[:8] }}
    ${output}=    Run Fixture Suite Expecting Failure    leaky_suite.robot    ${run_root}
    Should Contain    ${output}    Resources leaked (2 item(s)
    Should Match Regexp    ${output}    processes: recovery-client: process pid \\d+ \\(sleep 600\\)
    Should Match Regexp    ${output}    bundles: recovery-client: bundle \\S+/bundles/crunjar-leaked-bundle
    Run Root Should Be Clean    ${run_root}
    [Teardown]    Remove Fixture Run    ${run_root}


*** Keywords ***
Run Fixture Suite Expecting Failure
    [Documentation]    Runs a suite of _fixtures/ in a robot process of its own with its own run root and a
    ...    short leak timeout; checks it failed and returns its console output. Its own output dir keeps
    ...    the copies of its agent logs out of the run root and the working dir.
    [Arguments]    ${suite}    ${run_root}
    ${result}=    Run Process    ${ROBOT}    --outputdir    ${run_root}-output    --report    NONE    --log    NONE
    ...    --variable    LEAK_TIMEOUT:2s    ${CURDIR}/_fixtures/${suite}    env:NOMAD_E2E_RUN_ROOT=${run_root}
    ...    stderr=STDOUT    timeout=3 min
    Log    ${result.stdout}
    Should Be Equal As Integers    ${result.rc}    1    ${result.stdout}
    RETURN    ${result.stdout}

Remove Fixture Run
    [Documentation]    Removes the fixture run's run root and output dir.
    [Arguments]    ${run_root}
    Remove Directory    ${run_root}    recursive=${True}
    Remove Directory    ${run_root}-output    recursive=${True}
