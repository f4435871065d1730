*** Settings ***
Documentation     Story: client agent crashes. A client agent killed with SIGKILL and started again restores
...               its allocations from its data dir; the driver recovers running tasks in place and reports
...               the exit of tasks that ended while nobody watched.

Resource          ../../resources/recovery.resource

Suite Setup       Start Recovery Agents
Suite Teardown    Stop Recovery Agents After Leak Check
Test Teardown     Recover After Test

Test Tags         story:recovery    area:recovery    needs:local-agents


*** Variables ***
${CRASHES}         5
# Stopping a task is SIGTERM to the JVM, which reports it as 128 + 15.
${STOPPED_CODE}    143
# The sleeper outlives the checks that it runs, then exits while its client is down.
${RUN_SECONDS}     5
${EXIT_CODE}       3


*** Test Cases ***
Running Service Survives Five Client Crashes In A Row
    [Documentation]    After each SIGKILL and restart of the client the task runs on in the same JVM, with no
    ...    restart and its log still flowing; stopping the job afterwards stops the JVM and leaves nothing.
    ${before}=    Take Resource Snapshot
    ${job}=    Start Long Runner
    ${pid}=    Get Task Process Id    ${job}
    FOR    ${_}    IN RANGE    ${CRASHES}
        Restart Nomad Client
        Task Should Have Been Recovered    ${job}    ${pid}
    END
    Stop Job    ${job}    purge=${False}
    Wait Until Process Exits    ${pid}
    Task Exit Code Should Be    ${job}    ${STOPPED_CODE}
    Resources Should Not Have Leaked    ${before}

Task That Exits While The Client Is Down Is Reported Dead With Its Exit Code
    [Documentation]    The JVM ends while its client agent is dead; the restarted client reports the task
    ...    dead with the JVM's exit code, neither lost nor run again.
    ${job}=    Start Sleeper    ${RUN_SECONDS}    ${EXIT_CODE}
    ${pid}=    Get Task Process Id    ${job}
    Kill Nomad Agent    ${CLIENT}
    Process Should Be Running    ${pid}    The JAR ended before its client was killed: raise RUN_SECONDS
    Wait Until Process Exits    ${pid}    timeout=${RUN_SECONDS}s
    Restart Nomad Agent    ${CLIENT}
    Sleeper Should End With Its Exit Code    ${job}    ${EXIT_CODE}
