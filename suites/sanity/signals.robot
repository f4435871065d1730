*** Settings ***
Documentation     Story: into a running task. SignalTask reaches the JVM and leaves the plugin running;
...               ExecTask and ExecTaskStreaming run commands inside the task; TaskStats measures it; an OOM
...               kill is reported as such, with a task event.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:running-task


*** Test Cases ***
Signal Reaches The JVM
    [Documentation]    SIGUSR1 and SIGHUP sent with SignalTask arrive at the JVM's signal handlers.
    [Tags]    needs:signals
    Start Driver Task    echo    jar_path=${JARS}/signal-echo.jar
    Wait Until Driver Task Output Contains    echo    signal-echo ready
    Signal Driver Task    echo    SIGUSR1
    Wait Until Driver Task Output Contains    echo    received SIGUSR1
    Signal Driver Task    echo    SIGHUP
    Wait Until Driver Task Output Contains    echo    received SIGHUP
    [Teardown]    Destroy Driver Task    echo    force=${True}

Signal Leaves The Plugin Running
    [Documentation]    After SignalTask the same plugin process answers, and the task runs on.
    [Tags]    needs:signals
    ${pid}=    Get Driver Plugin Pid
    Start Driver Task    signalled    jar_path=${JARS}/signal-echo.jar
    Wait Until Driver Task Output Contains    signalled    signal-echo ready
    Signal Driver Task    signalled    SIGUSR2
    Plugin Should Still Answer    ${pid}
    ${status}=    Inspect Driver Task    signalled
    Should Be Equal    ${status}[state]    running
    [Teardown]    Destroy Driver Task    signalled    force=${True}

Exec Runs A Command Inside The Task
    [Documentation]    ExecTask runs a shell in the task: its stdout and its exit code come back.
    [Tags]    needs:exec
    Start Sleeper Task    exec
    ${result}=    Exec In Driver Task    exec    /bin/sh    -c    echo inside; exit 3
    Should Be Equal    ${result}[stdout]    inside\n
    Should Be Equal As Integers    ${result}[exit_code]    3
    [Teardown]    Destroy Driver Task    exec    force=${True}

Exec Streaming Passes Stdin And Output
    [Documentation]    ExecTaskStreaming, as ``nomad alloc exec`` calls it: stdin reaches the command and its
    ...    output comes back with its exit code.
    [Tags]    needs:exec
    Start Sleeper Task    stream
    ${result}=    Exec In Driver Task    stream    /bin/sh    -c    cat; echo err >&2
    ...    streaming=${True}    stdin=hello through exec\n
    Should Be Equal    ${result}[stdout]    hello through exec\n
    Should Be Equal    ${result}[stderr]    err\n
    Should Be Equal As Integers    ${result}[exit_code]    0
    [Teardown]    Destroy Driver Task    stream    force=${True}

Stats Measure The Running JVM
    [Documentation]    TaskStats of a running task report its memory (RSS above zero) and which CPU and memory
    ...    fields they measured.
    Start Sleeper Task    measured
    ${stats}=    Get Driver Task Stats    measured
    Should Be True    ${stats}[memory_rss] > 0 or ${stats}[memory_usage] > 0    msg=No memory measured: ${stats}
    Should Not Be Empty    ${stats}[memory_measured]
    Should Not Be Empty    ${stats}[cpu_measured]
    [Teardown]    Destroy Driver Task    measured    force=${True}

OOM Kill Is Reported With A Task Event
    [Documentation]    A JVM allowed a heap beyond its 128 MB limit and allocating 400 MiB is OOM killed: WaitTask
    ...    says exit 137, signal 9, OOM killed, and the driver sends a task event about it.
    [Tags]    needs:oom-reporting    needs:jvm-options
    Start Driver Task    hog    jar_path=${JARS}/memory-hog.jar    env=${{ {"APP_ARGS": "400"} }}    memory=128
    ...    jvm_options=${{ ["-Xmx512m"] }}
    ${exit}=    Wait For Driver Task    hog    timeout=60s
    Exit Should Be    ${exit}    137    signal=9
    Should Be True    ${exit}[oom_killed]    msg=Not reported as OOM killed: ${exit}
    Wait For Driver Task Event    hog    OOM
    [Teardown]    Destroy Driver Task    hog
