*** Settings ***
Documentation     Story: signals. Stopping a task sends the JVM SIGTERM (crunjar's default stop signal,
...               as for Docker and Podman; Nomad's exec and java drivers default to SIGINT), so
...               shutdown hooks run; a JVM that ignores it is SIGKILLed once kill_timeout has passed;
...               Signal Task reaches the JVM without crashing the driver plugin; and Nomad records each
...               step as the events it documents.
...
...               What "stopped successfully" means here: a JVM ends on SIGTERM by running its shutdown
...               hooks and exiting with status 143 (128 + 15) by itself, so Nomad's Terminated event
...               says "Exit Code: 143" without a signal, then "Killed: Task successfully killed"; the
...               task is dead and not failed, and the allocation is complete. A JVM killed by SIGKILL
...               instead ends with "Exit Code: 137, Signal: 9".

Library           Collections
Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:signals    story:signals


*** Variables ***
${KILL_TIMEOUT}      3
# The SIGKILL may come late on a loaded host, never early.
${KILL_TOLERANCE}    3


*** Test Cases ***
SIGTERM Runs The Shutdown Hook Before The JVM Exits
    [Documentation]    Stopping the job sends SIGTERM: the JVM runs its shutdown hook to the end, exits
    ...    143 on its own, and the task ends killed, not failed, with its allocation complete.
    [Tags]    needs:sigterm-by-default
    ${job}=    Submit Job    java-service    jar_path=${JARS}/graceful.jar
    Wait Until Task Log Contains    ${job}    graceful started
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead    failed=${False}
    Task Log Should Be Equal    ${job}    graceful started\nshutdown hook: cleaning up\nGRACEFUL-SHUTDOWN-COMPLETE\n
    ${terminated}=    Task Events Should Contain    ${job}    Terminated    Exit Code: 143
    Should Be Equal    ${terminated}[details][signal]    0
    Task Events Should Contain    ${job}    Killed    Task successfully killed
    Wait For Allocation Status    ${job}    complete

Configured Kill Signal Is The One The JVM Gets
    [Documentation]    With ``kill_signal = "SIGINT"`` the JVM gets SIGINT instead: its shutdown hook
    ...    runs too, and its exit status 130 (128 + 2) shows which signal arrived.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/graceful.jar    kill_signal=SIGINT
    Wait Until Task Log Contains    ${job}    graceful started
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead    failed=${False}
    Task Log Should Contain    ${job}    GRACEFUL-SHUTDOWN-COMPLETE
    Task Events Should Contain    ${job}    Terminated    Exit Code: 130

Stubborn JVM Is Killed After Kill Timeout
    [Documentation]    A JVM ignoring SIGTERM gets it (and says so), then is SIGKILLed once kill_timeout
    ...    has passed: the time from Nomad's Killing event to its Terminated event is the kill
    ...    timeout, within a tolerance for a loaded host.
    [Tags]    needs:sigterm-by-default
    ${job}=    Submit Job    java-service    jar_path=${JARS}/stubborn.jar    kill_timeout=${KILL_TIMEOUT}s
    Wait Until Task Log Contains    ${job}    stubborn started
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead    failed=${False}
    Task Log Should Contain    ${job}    ignoring SIGTERM
    Task Events Should Contain    ${job}    Killing    Waiting ${KILL_TIMEOUT}s before force killing
    Task Events Should Contain    ${job}    Terminated    Exit Code: 137, Signal: 9
    ${delay}=    Seconds Between Events    ${job}    Killing    Terminated
    Log    SIGKILL came ${delay} s after the Killing event (kill_timeout ${KILL_TIMEOUT} s)
    Should Be True    ${KILL_TIMEOUT} - 0.2 <= ${delay} <= ${KILL_TIMEOUT} + ${KILL_TOLERANCE}
    ...    Killing to Terminated took ${delay} s, not about the ${KILL_TIMEOUT} s kill timeout

Signals Sent With Signal Task Reach The JVM
    [Documentation]    SIGHUP and SIGUSR1 sent through Nomad arrive at the JVM's handlers in the order
    ...    sent, and Nomad records each as a Signaling event; the JVM keeps running.
    [Tags]    needs:signals
    ${job}=    Submit Job    java-service    jar_path=${JARS}/signal-echo.jar
    Wait Until Task Log Contains    ${job}    signal-echo ready
    Signal Task And Wait For Its Echo    ${job}    SIGHUP
    Signal Task And Wait For Its Echo    ${job}    SIGUSR1
    Task Log Should Be Equal    ${job}    signal-echo ready\nreceived SIGHUP\nreceived SIGUSR1\n
    # The client reports non-terminal task events to the servers in batches, up to a second late.
    Wait Until Keyword Succeeds    10s    200ms    Signaling Events Should Be    ${job}    SIGHUP    SIGUSR1
    Wait For Task State    ${job}    running    timeout=5s

Signal Task Leaves The Driver Plugin Running
    [Documentation]    The driver plugin process that delivers a signal to the JVM is still the one
    ...    running afterwards: handling Signal Task does not crash it.
    [Tags]    needs:signals    needs:local-agents
    ${plugin}=    Get Driver Plugin Process Unless Built In
    ${job}=    Submit Job    java-service    jar_path=${JARS}/signal-echo.jar
    Wait Until Task Log Contains    ${job}    signal-echo ready
    Signal Task And Wait For Its Echo    ${job}    SIGHUP
    ${after}=    Get Driver Plugin Process
    Should Be Equal As Integers    ${after}    ${plugin}
    ...    The driver plugin process ${plugin} is gone after Signal Task; Nomad relaunched it as ${after}

Stopped Task Goes Through Nomad's Documented Events
    [Documentation]    A service task that is started, then stopped, shows exactly Nomad's documented
    ...    sequence of task events: Received, Task Setup, (Downloading Artifacts when its JAR is one),
    ...    Started, Killing, Terminated, Killed.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/graceful.jar
    Wait Until Task Log Contains    ${job}    graceful started
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead
    ${profile}=    Get Driver Profile
    VAR    @{download}=    Downloading Artifacts
    IF    $profile["jar_delivery"] != "artifact"
        VAR    @{download}=    @{EMPTY}
    END
    Task Event Types Should Be    ${job}    Received    Task Setup    @{download}    Started    Killing    Terminated
    ...    Killed


*** Keywords ***
Signal Task And Wait For Its Echo
    [Documentation]    Sends ``signal`` through Nomad and waits until signal-echo reports receiving it.
    [Arguments]    ${job}    ${signal}
    Signal Task    ${job}    ${signal}
    Wait Until Task Log Contains    ${job}    received ${signal}    timeout=10s

Get Driver Plugin Process Unless Built In
    [Documentation]    The pid of the shared agent's driver plugin process; skips the test when the
    ...    driver is built into Nomad and so runs inside the agent's own process.
    ${agent}=    Get Nomad Agent Info
    ${binary}=    Evaluate    os.path.join($agent["plugin_dir"], "nomad-driver-" + $agent["driver"])    modules=os
    ${external}=    Evaluate    os.path.isfile($binary)    modules=os
    Skip If    not ${external}    Driver '${agent}[driver]' is built into Nomad: it has no plugin process of its own
    ${pid}=    Get Driver Plugin Process
    RETURN    ${pid}

Signaling Events Should Be
    [Documentation]    The task's Signaling events name exactly ``signals``, in order.
    [Arguments]    ${job}    @{signals}
    ${events}=    Get Task Events    ${job}
    ${sent}=    Evaluate    [event["details"].get("signal") for event in $events if event["type"] == "Signaling"]
    Lists Should Be Equal    ${sent}    ${signals}
