*** Settings ***
Documentation    Story: no hung runs. Every test without a timeout of its own gets NomadServer's ``test_timeout``;
...              a driver call that never returns fails the test by that bound, with what the wait saw last
...              rather than a bare "timed out", and the cleanup after it still leaves nothing on the host.
...              Each test runs a fixture suite against crunjar with a hanging fault (driver/FAULTS.md).

Resource         ../../resources/common.resource
Library          ../libraries/RunRoots.py

Test Tags        area:framework    story:no-hung-runs    needs:local-agents    needs:crunjar-diagnostics


*** Variables ***
${FIXTURE}    ${CURDIR}/../_fixtures/hanging_driver.robot
# The fixture's safety net; its waits ask for 10 minutes, far beyond it.
${NET}        20s
# The fixture's Nomad timeout, the bound of its agent start.
${NOMAD}      20s
# What a wait cut short by the test's timeout says after its own headline.
${CUT}        (all the test's timeout left of the 10 minutes asked)


*** Test Cases ***
A Driver Whose StartTask Hangs Fails The Test With What It Saw And Leaves Nothing
    [Documentation]    StartTask runs the JVM and never returns: the wait for ``running`` ends before the test's
    ...    timeout, failing with the allocation it last saw (pending, its task events), and the agent, the
    ...    JVM and its container are gone after the run.
    ${output}    ${run_root}=    Run Hanging Fixture    Task Whose Start Hangs    hang-start
    Should Contain    ${output}    did not reach task state 'running' within
    Should Contain    ${output}    ${CUT}
    Should Contain    ${output}    last seen: task 'app' pending
    RunRoots.Run Root Should Be Clean    ${run_root}

A Driver Whose StopTask Hangs Fails The Test With What It Saw And Leaves Nothing
    [Documentation]    StopTask never returns: `Stop Job` ends before the test's timeout, failing with the
    ...    allocation it last saw still running, and the agent, the JVM and its container are gone after the run.
    ${output}    ${run_root}=    Run Hanging Fixture    Task Whose Stop Hangs    hang-stop
    Should Contain    ${output}    ${CUT}
    Should Contain    ${output}    running
    RunRoots.Run Root Should Be Clean    ${run_root}


*** Keywords ***
Run Hanging Fixture
    [Documentation]    Runs one test of the fixture with crunjar's ``fault`` on, the safety net at ${NET} and
    ...    the Nomad timeout at ${NOMAD}; returns its console output and run root once it failed as expected.
    [Arguments]    ${test}    ${fault}
    VAR    &{environment}=    CRUNJAR_FAULTS=${fault}    NOMAD_E2E_TEST_TIMEOUT=${NET}    NOMAD_E2E_TIMEOUT=${NOMAD}
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${FIXTURE}    --test    ${test}
    ...    expected_rc=1    environment=${environment}
    Should Contain    ${output}    1 test, 0 passed, 1 failed
    RETURN    ${output}    ${run_root}
