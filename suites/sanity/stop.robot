*** Settings ***
Documentation     Story: stop and destroy. StopTask sends the task's kill signal and SIGKILL once the kill
...               timeout has passed, and WaitTask reports how the JVM ended; DestroyTask refuses a running
...               task unless forced, and leaves nothing of a task on the host.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:stop-and-destroy


*** Variables ***
${KILL_TIMEOUT}      2s
# The SIGKILL may come late on a loaded host, never early.
${KILL_TOLERANCE}    3


*** Test Cases ***
Stop Sends SIGTERM And The JVM Runs Its Shutdown Hook
    [Documentation]    Without a kill signal of the job's own, the JVM gets SIGTERM: its shutdown hook runs to
    ...    the end and it exits 143 by itself, no signal.
    [Tags]    needs:sigterm-by-default
    Start Driver Task    graceful    jar_path=${JARS}/graceful.jar
    Wait Until Driver Task Output Contains    graceful    graceful started
    Stop Driver Task    graceful    kill_timeout=10s
    ${exit}=    Wait For Driver Task    graceful    timeout=10s
    Exit Should Be    ${exit}    143
    Driver Task Output Should Contain    graceful    GRACEFUL-SHUTDOWN-COMPLETE
    [Teardown]    Destroy Driver Task    graceful

Stop Sends The Job's Kill Signal
    [Documentation]    With kill_signal SIGINT the JVM gets SIGINT, runs its hook and exits 130 (128 + 2).
    Start Driver Task    interrupted    jar_path=${JARS}/graceful.jar
    Wait Until Driver Task Output Contains    interrupted    graceful started
    Stop Driver Task    interrupted    kill_timeout=10s    signal=SIGINT
    ${exit}=    Wait For Driver Task    interrupted    timeout=10s
    Exit Should Be    ${exit}    130
    Driver Task Output Should Contain    interrupted    GRACEFUL-SHUTDOWN-COMPLETE
    [Teardown]    Destroy Driver Task    interrupted

Stubborn JVM Is Killed After The Kill Timeout
    [Documentation]    A JVM that ignores SIGTERM is SIGKILLed once the kill timeout has passed, not before:
    ...    StopTask returns after it, and WaitTask says exit code 137, signal 9.
    Start Driver Task    stubborn    jar_path=${JARS}/stubborn.jar
    Wait Until Driver Task Output Contains    stubborn    stubborn started
    ${started}=    Get Time    epoch
    Stop Driver Task    stubborn    kill_timeout=${KILL_TIMEOUT}    signal=SIGTERM
    ${took}=    Evaluate    time.time() - ${started}    modules=time
    ${exit}=    Wait For Driver Task    stubborn    timeout=10s
    Exit Should Be    ${exit}    137    signal=9
    Should Be True    2 <= ${took} < 2 + ${KILL_TOLERANCE}    msg=StopTask took ${took} s with kill timeout 2 s
    Driver Task Output Should Contain    stubborn    ignoring SIGTERM
    [Teardown]    Destroy Driver Task    stubborn

Stopped Task Leaves Nothing Once Destroyed
    [Documentation]    After StopTask, WaitTask and DestroyTask no process, container, bundle, mount or cgroup
    ...    of the task is left, and its alloc dir is gone.
    ${before}=    Take Driver Snapshot
    Start Sleeper Task    stopped
    Stop Driver Task    stopped
    Wait For Driver Task    stopped    timeout=10s
    Destroy Driver Task    stopped
    Driver Should Not Have Leaked    ${before}

Destroy Of A Running Task Without Force Is Refused
    [Documentation]    DestroyTask of a running task without force fails and the task runs on.
    Start Sleeper Task    running
    Run Keyword And Expect Error    DestroyTask failed*    Destroy Driver Task    running
    ${status}=    Inspect Driver Task    running
    Should Be Equal    ${status}[state]    running
    [Teardown]    Destroy Driver Task    running    force=${True}

Forced Destroy Of A Running Task Leaves Nothing
    [Documentation]    DestroyTask with force kills a running task and removes everything of it.
    ${before}=    Take Driver Snapshot
    Start Sleeper Task    forced
    Destroy Driver Task    forced    force=${True}
    Driver Should Not Have Leaked    ${before}

Exited Task Leaves Nothing Once Destroyed
    [Documentation]    A task that ended by itself leaves nothing after DestroyTask.
    ${before}=    Take Driver Snapshot
    Start Driver Task    done    jar_path=${JARS}/hello.jar
    Wait For Driver Task    done
    Destroy Driver Task    done
    Driver Should Not Have Leaked    ${before}
