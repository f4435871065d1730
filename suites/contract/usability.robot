*** Settings ***
Documentation     Story: a first suite. What a user writing from the README and libdoc alone reaches for: a
...               current agent so keywords need no ``agent=``, one timeout for every wait, task events matched
...               whatever their case, and the README's example running without a warning.

Resource          ../../resources/common.resource
Library           ../libraries/RunRoots.py

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop All Nomad Servers

Test Tags         area:framework    story:first-suite    needs:local-agents


*** Test Cases ***
Keywords Given No Agent Use The One Chosen With Use Nomad Agent
    [Documentation]    A second agent started by the test is current; `Use Nomad Agent` makes the suite's agent
    ...    current again: it returns the previous name, and a job submitted without ``agent=`` lands there.
    ${shared}=    Get Nomad Agent Info
    Start Nomad Server    name=second
    ${previous}=    Use Nomad Agent    ${shared}[name]
    Should Be Equal    ${previous}    second
    ${address}=    Get Nomad Address
    Should Be Equal    ${address}    ${shared}[address]
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}    agent=${shared}[name]
    [Teardown]    Stop Nomad Server    second

A Wait Given No Timeout Waits The Nomad Timeout
    [Documentation]    After `Set Nomad Timeout    2s`, a wait that cannot succeed fails after 2 seconds, saying so
    ...    and what it saw; the previous timeout comes back in the teardown.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait For Job Status    ${job}    running
    ${previous}=    Set Nomad Timeout    2s
    ${began}=    Evaluate    time.monotonic()
    Run Keyword And Expect Error    *did not reach status 'dead' within 2 seconds; last seen: status running*
    ...    Wait For Job Status    ${job}    dead
    ${waited}=    Evaluate    time.monotonic() - $began
    Should Be True    2 <= ${waited} < 10    The wait took ${waited} s
    [Teardown]    Restore Nomad Timeout And Stop Job    ${previous}    ${job}

Task Events Match Whatever Their Case With Ignore Case
    [Documentation]    A task exiting 3 has a ``Terminated`` event with ``Exit Code: 3``: found with another
    ...    case only when ``ignore_case`` is true.
    [Tags]    needs:args
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar    args=${{ ["3"] }}
    Wait For Allocation Status    ${job}    failed
    Task Events Should Contain    ${job}    terminated    EXIT CODE: 3    ignore_case=${True}
    Run Keyword And Expect Error    *has no event 'terminated'*
    ...    Task Events Should Contain    ${job}    terminated    EXIT CODE: 3

The README's Library Example Passes Without A Warning
    [Documentation]    The example of "Using the libraries from your own repository" (its test case, kept equal
    ...    to the README's by a unit test) passes, with no warning about agents left running.
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/readme_example.robot
    Should Contain    ${output}    1 test, 1 passed, 0 failed
    Should Not Contain    ${output}    [ WARN ]
    RunRoots.Run Root Should Be Clean    ${run_root}


*** Keywords ***
Restore Nomad Timeout And Stop Job
    [Documentation]    Test teardown: the Nomad timeout as it was, and the test's job stopped.
    [Arguments]    ${previous}    ${job}
    Set Nomad Timeout    ${previous}
    Stop Job    ${job}
