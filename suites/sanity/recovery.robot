*** Settings ***
Documentation     Story: recovery. When the plugin process dies its tasks run on; a new plugin process given
...               their handles with RecoverTask reattaches to the same JVMs, which still deliver their exit
...               codes, and can still be stopped and destroyed. A handle the plugin did not write is refused.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:recovery


*** Test Cases ***
Running Task Survives A Plugin Crash And Delivers Its Own Exit Code
    [Documentation]    The plugin is SIGKILLed while the task runs: the JVM runs on (its heartbeats go on, it does
    ...    not start again), RecoverTask in a new plugin process reattaches, and WaitTask delivers its exit code.
    [Tags]    needs:recovery
    Start Sleeper Task    survivor    seconds=4    exit_code=7
    Kill Driver Plugin Process
    Restart Driver Plugin
    Recover Driver Tasks
    ${exit}=    Wait For Driver Task    survivor
    Exit Should Be    ${exit}    7
    ${stdout}=    Get Driver Task Output    survivor
    Should Contain X Times    ${stdout}    sleeper started    1    msg=The task started again:\n${stdout}
    Should End With    ${stdout}    sleeper exiting with 7\n
    [Teardown]    Destroy Driver Task    survivor

Task That Exited While The Plugin Was Down Is Recovered With Its Exit Code
    [Documentation]    A task that ends while no plugin runs is recovered as exited, with its exit code.
    [Tags]    needs:recovery
    Start Sleeper Task    ended    seconds=1    exit_code=5
    Kill Driver Plugin Process
    Wait Until Driver Task Output Contains    ended    sleeper exiting with 5
    Restart Driver Plugin
    Recover Driver Tasks
    ${exit}=    Wait For Driver Task    ended
    Exit Should Be    ${exit}    5
    [Teardown]    Destroy Driver Task    ended

Recovered Task Can Be Stopped And Leaves Nothing
    [Documentation]    A task recovered after a plugin crash stops with StopTask and leaves nothing after
    ...    DestroyTask: the new plugin process holds everything of it.
    [Tags]    needs:recovery
    ${before}=    Take Driver Snapshot
    Start Sleeper Task    recovered
    Kill Driver Plugin Process
    Restart Driver Plugin
    Recover Driver Tasks
    Stop Driver Task    recovered
    Wait For Driver Task    recovered    timeout=10s
    Destroy Driver Task    recovered
    Driver Should Not Have Leaked    ${before}

Recovering A Task The Plugin Still Tracks Changes Nothing
    [Documentation]    RecoverTask for a task the same plugin process runs (an agent restarted and reattached)
    ...    succeeds and the task runs on.
    Start Sleeper Task    tracked
    Recover Driver Task    tracked
    ${status}=    Inspect Driver Task    tracked
    Should Be Equal    ${status}[state]    running
    [Teardown]    Destroy Driver Task    tracked    force=${True}

Recover From A Garbage Handle Is Refused
    [Documentation]    A new plugin process given a handle whose driver state it did not write refuses it with
    ...    an error, and stays up.
    [Tags]    needs:recovery
    Start Sleeper Task    garbage
    Kill Driver Plugin Process
    ${pid}=    Restart Driver Plugin
    Run Keyword And Expect Error    RecoverTask failed*    Recover Driver Task    garbage
    ...    driver_state=${{ b"\xc1 not a driver state" }}
    Plugin Should Still Answer    ${pid}
    Recover Driver Task    garbage
    [Teardown]    Destroy Driver Task    garbage    force=${True}
