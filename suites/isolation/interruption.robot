*** Settings ***
Documentation    Story: interrupted runs. A robot run stopped by one Ctrl-C (SIGINT) runs its teardowns
...              and leaves nothing behind; so does robot stopped harder by a second SIGINT. SIGKILL
...              leaves agents and tasks running, and the next run's first agent start sweeps them. Each
...              interrupted run is a fixture suite in a robot process of its own (pabot runs:
...              pabot_interruption.robot).

Resource         interruption.resource

Test Tags        story:interruption    area:framework


*** Test Cases ***
One SIGINT Stops The Run After Its Teardowns And Leaves Nothing
    [Documentation]    Like one Ctrl-C: the running test fails, its teardown and the listeners run, and the
    ...    agent, its task and all they held are gone when robot exits.
    ${run}=    Start Interrupted Run
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    ${output}=    Run Should Exit    ${run}    ${RC_ONE_FAILED}
    Should Contain    ${output}    Teardown of '${FIRST_TEST}' ends
    Should Contain    ${output}    Execution terminated by signal
    What The Tests Held Should Be Gone    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}

A Second SIGINT Skips The Rest Of The Teardown And The Libraries Still Leave Nothing
    [Documentation]    A second Ctrl-C while a teardown runs ends robot at once, the rest of the teardown
    ...    skipped; the libraries' listener still stops every agent on the way out (robot closes its
    ...    listeners even then), so the agent, its task and all they held are gone when robot exits.
    ${run}=    Start Interrupted Run    --variable    TEARDOWN_WAITS:True
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    Wait Until Teardowns Are Under Way    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    ${output}=    Run Should Exit    ${run}    ${RC_FORCED}
    Should Contain    ${output}    Execution forcefully stopped
    Should Not Contain    ${output}    Teardown of '${FIRST_TEST}' ends
    What The Tests Held Should Be Gone    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}

SIGKILL Leaves The Run's Agent Running Until The Next Run Sweeps It
    [Documentation]    SIGKILL runs no teardown and no listener: the next run cleans up after it.
    ${run}=    Start Interrupted Run
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGKILL    ${run}[process]
    Run Should Exit    ${run}    -9
    What The Tests Held Should Still Be Held    ${run}    ${state}
    Next Run Should Sweep Everything    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}
