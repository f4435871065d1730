*** Settings ***
Documentation       Story: leak detection. The teardown every recovery suite ends with fails the suite when its
...                 tasks left anything on the host, and lists each leftover precisely.

Library             OperatingSystem
Resource            ../../resources/recovery.resource
Library             ../libraries/RunRoots.py

Test Tags           story:recovery    area:recovery    needs:local-agents


*** Test Cases ***
Suite That Leaves Resources Behind Fails Its Teardown Listing Each One
    [Documentation]    A fixture suite leaves a process and a bundle dir in its driver's state dir: its suite
    ...    teardown fails naming both, and the agents are still stopped and cleaned up.
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/_fixtures/leaky_suite.robot
    ...    --variable    LEAK_TIMEOUT:2s    expected_rc=1    timeout=3 min
    Should Contain    ${output}    Resources leaked (2 item(s)
    Should Match Regexp    ${output}    processes: recovery-client: process pid \\d+ \\(sleep 600\\)
    Should Match Regexp    ${output}    bundles: recovery-client: bundle \\S+/bundles/crunjar-leaked-bundle
    RunRoots.Run Root Should Be Clean    ${run_root}
    [Teardown]    Remove Fixture Run    ${run_root}


*** Keywords ***
Remove Fixture Run
    [Documentation]    Removes the fixture run's run root.
    [Arguments]    ${run_root}
    Remove Directory    ${run_root}    recursive=${True}
