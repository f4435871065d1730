*** Settings ***
Documentation     Story: tasks dying behind Nomad's back. A JVM killed directly, not through Nomad, is seen
...               to fail and is handled by the job's restart policy like any other failure.

Resource          ../../resources/recovery.resource

Suite Setup       Start Recovery Agents
Suite Teardown    Stop Recovery Agents After Leak Check
Test Teardown     Recover After Test

Test Tags         story:recovery    area:recovery    needs:local-agents


*** Variables ***
# Death by SIGKILL, reported as 128 + 9.
${KILLED_CODE}    137


*** Test Cases ***
JVM Killed Behind Nomad's Back Is Restarted By The Restart Policy
    [Documentation]    SIGKILL straight to the container's JVM: Nomad sees the task fail with the signal's
    ...    exit code and restarts it once in place, as a new JVM, per the service's restart policy.
    ${job}=    Start Long Runner
    ${killed}=    Kill Task Process    ${job}
    ${restarts}=    Wait For Allocation Restarts    ${job}    1
    Should Be Equal As Integers    ${restarts}    1
    Wait For Task State    ${job}    running
    Task Events Should Contain    ${job}    Terminated    Exit Code: ${KILLED_CODE}
    Wait Until Process Exits    ${killed}
    ${pid}=    Get Task Process Id    ${job}
    Should Not Be Equal As Integers    ${pid}    ${killed}
    Task Should Have Been Restarted In Place    ${job}


*** Keywords ***
Task Should Have Been Restarted In Place
    [Documentation]    Nomad restarted the task in its allocation (no replacement allocation), and the new
    ...    JVM's output follows the old one's in the same log.
    [Arguments]    ${job}
    Task Events Should Contain    ${job}    Restarting
    ${allocations}=    Get Job Allocations    ${job}
    Length Should Be    ${allocations}    1    The allocation was replaced instead of restarted in place
    Wait Until Task Log Contains    ${job}    (?s)long-runner started.*long-runner started    regexp=${True}
