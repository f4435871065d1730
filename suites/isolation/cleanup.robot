*** Settings ***
Documentation    Story: isolation and cleanup. What a test or suite starts is stopped when it ends,
...              whatever happened, and a robot process that died is cleaned up by the next one.

Library          OperatingSystem
Library          Process
Resource         ../../resources/common.resource
Library          ../libraries/RunRoots.py

Test Tags        story:isolation    area:framework    needs:local-agents


*** Test Cases ***
Agent A Test Forgot To Stop Is Stopped When The Test Ends
    [Documentation]    A passing test that leaves its agent running gets it stopped when it ends, with a
    ...    warning; the next test finds no agent and no process. Runs in a robot process of its own, so
    ...    it needs no other test of this suite (pabot --testlevelsplit runs each test apart).
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/forgotten_agent.robot
    Should Contain    ${output}    left Nomad agent(s) running: forgotten
    Should Contain    ${output}    2 tests, 2 passed, 0 failed
    RunRoots.Run Root Should Be Clean    ${run_root}

Failing Test Leaves No Agent, Container Or Directory Behind
    [Documentation]    A test failing with its agent and job running is cleaned up by the listener.
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite
    ...    ${CURDIR}/../_fixtures/failing_test_with_running_job.robot
    ...    expected_rc=1
    Should Contain    ${output}    Failing on purpose with the agent and its job still running
    RunRoots.Run Root Should Be Clean    ${run_root}

Failed Test Gets Its Forensics Without Asking For Them
    [Documentation]    A failed test whose own teardown captures nothing still has the agent log and its
    ...    jobs' allocations, events and task logs in log.html, taken before its agent was stopped.
    VAR    ${output_xml}=    ${OUTPUT DIR}/fixtures/failing-test-forensics.xml
    ${_}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/failing_test_with_running_job.robot
    ...    --output    ${output_xml}    expected_rc=1
    ${xml}=    Get File    ${output_xml}
    Should Contain    ${xml}    Forensics: Job
    Should Contain    ${xml}    heartbeat 1
    Should Contain    ${xml}    HTTP request records left out
    RunRoots.Run Root Should Be Clean    ${run_root}

Failed Test's Agent Is Kept For Debugging When Asked
    [Documentation]    With NOMAD_E2E_KEEP=1 a failed test's agent outlives the run, the log says how to reach
    ...    it, and the next run's sweep removes it.
    VAR    ${run_root}=    ${TEMPDIR}/e2e-kept-${{ uuid.uuid4().hex[:8] }}
    ${output}    ${_}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/failing_test_with_running_job.robot
    ...    expected_rc=1    run_root=${run_root}    environment=${{ {"NOMAD_E2E_KEEP": "1"} }}
    Should Match Regexp    ${output}    Kept Nomad agent 'nomad-1' of failed test .* NOMAD_ADDR=http://127.0.0.1:\\d+
    RunRoots.Run Root Should Hold A Live Agent    ${run_root}
    RunRoots.Sweep Dead Runs    ${run_root}
    RunRoots.Run Root Should Be Clean    ${run_root}
    # Whatever failed above, the kept agent must not outlive this test.
    [Teardown]    RunRoots.Sweep Dead Runs    ${run_root}

Leftovers Of A Killed Robot Run Are Swept By The Next Run
    [Documentation]    SIGKILL skips every teardown; the next start sweeps the dead run's agents.
    Remove File    ${TEMPDIR}/killed-while-running.ready
    ${process}    ${run_root}=    RunRoots.Start Fixture Suite    ${CURDIR}/../_fixtures/killed_while_running.robot
    Wait Until Created    ${TEMPDIR}/killed-while-running.ready    timeout=120s
    Terminate Process    ${process}    kill=${True}
    RunRoots.Run Root Should Hold A Live Agent    ${run_root}
    RunRoots.Sweep Dead Runs    run_root=${run_root}
    RunRoots.Run Root Should Be Clean    ${run_root}
    [Teardown]    Stop Killed Run    ${process}    ${run_root}


*** Keywords ***
Stop Killed Run
    [Documentation]    Makes sure the fixture run is gone, and shows its console output.
    [Arguments]    ${process}    ${run_root}
    Terminate Process    ${process}    kill=${True}
    ${output}=    Get File    ${run_root}.out
    Log    ${output}
    Remove File    ${run_root}.out
    RunRoots.Sweep Dead Runs    run_root=${run_root}
