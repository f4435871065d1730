*** Settings ***
Documentation    Story: interrupted runs, under pabot. Ctrl-C (SIGINT) to pabot and pabot's own
...              ``--processtimeout`` stop each robot process after its teardowns, leaving nothing behind;
...              SIGKILL of pabot and its robots leaves agents and tasks to the next run's sweep. Each
...              interrupted run is a fixture suite in a pabot run of its own, two robot processes.

Resource         interruption.resource

Test Tags        story:interruption    area:framework


*** Test Cases ***
SIGINT To A Pabot Run Stops Each Of Its Processes And Leaves Nothing
    [Documentation]    Ctrl-C in the terminal of a pabot run reaches pabot alone (pabot starts each robot in a
    ...    session of its own), and pabot stops each robot's process tree: the agents first, then robot
    ...    (SIGTERM, and SIGKILL 5 s later). Each test fails, its teardown runs, and the libraries stop
    ...    what is left of its agents before robot exits: no agent or task of either process is left.
    ...    What each robot reports is checked, not pabot's summary: pabot 5 then rewrites each robot's
    ...    output.xml with a dry run it gives 3 s, which a loaded host can exceed (pabot counts no test).
    ${run}=    Start Interrupted Pabot Run
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    Send Signal To Process    SIGINT    ${run}[process]    group=${True}
    Run Should Exit    ${run}    ${RC_PABOT_STOPPED}
    ${robots}=    Console Output Of Pabot's Robot Processes    ${run}
    Should Contain X Times    ${robots}    1 test, 0 passed, 1 failed    2
    Should Contain    ${robots}    Teardown of '${FIRST_TEST}' runs
    Should Contain    ${robots}    Teardown of '${SECOND_TEST}' runs
    What The Tests Held Should Be Gone    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}

A Pabot Process Stopped At Its Timeout Leaves Nothing
    [Documentation]    pabot's ``--processtimeout`` stops a robot process the way Ctrl-C does, its agents
    ...    first: each test fails and the libraries stop what is left of its agents before robot exits.
    ...    As after Ctrl-C, each robot's own report is checked, not pabot's summary.
    ${run}=    Start Interrupted Pabot Run    --processtimeout    ${PROCESS_TIMEOUT}
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    ${output}=    Run Should Exit    ${run}
    Should Contain X Times    ${output}    killed due to exceeding the maximum timeout    2
    ${robots}=    Console Output Of Pabot's Robot Processes    ${run}
    Should Contain X Times    ${robots}    1 test, 0 passed, 1 failed    2
    What The Tests Held Should Be Gone    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}

Killing A Pabot Run Leaves Its Agents To The Next Run's Sweep
    [Documentation]    SIGKILL of pabot and the robots it runs, as a CI runner stops a job (pabot's process
    ...    group and its children: each robot has a session of its own), leaves both processes' agents
    ...    and tasks; the next run sweeps them all.
    ${run}=    Start Interrupted Pabot Run
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    ${pid}=    Get Process Id    ${run}[process]
    RunRoots.Kill Process And Its Children    ${pid}
    Run Should Exit    ${run}    -9
    What The Tests Held Should Still Be Held    ${run}    @{states}
    Next Run Should Sweep Everything    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}
