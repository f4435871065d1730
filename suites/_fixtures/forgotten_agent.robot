*** Settings ***
Documentation    Run by isolation/cleanup.robot in a robot process of its own: a passing test "forgets"
...              its agent, and the next test checks the listener stopped it when the first one ended.

Resource         ../../resources/common.resource


*** Variables ***
${LEFT_BEHIND_PID}    ${None}


*** Test Cases ***
Test That Forgets Its Agent
    [Documentation]    Fixture: not a specification, see isolation/cleanup.robot.
    Start Nomad Server    name=forgotten
    ${info}=    Get Nomad Agent Info    forgotten
    # The next test checks this agent is gone: only a suite variable outlives the test.
    VAR    ${LEFT_BEHIND_PID}=    ${info}[pid]    scope=SUITE    # robocop: off=VAR05

Test After It
    [Documentation]    Fixture: the agent of the previous test is gone, process and all.
    Should Not Be Equal    ${LEFT_BEHIND_PID}    ${None}    The previous test did not run
    Run Keyword And Expect Error    *No Nomad agent*    Get Nomad Address
    Process Should Not Be Running    ${LEFT_BEHIND_PID}
