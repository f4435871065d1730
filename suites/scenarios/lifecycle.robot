*** Settings ***
Documentation     Story: task lifecycle. Stopping a job stops its JVM and removes its container,
...               restarting an allocation runs a new JVM whose output follows the first one's, jobs
...               run side by side without mixing their output, and the restart policy retries a
...               failing task, then gives up as it says.

Library           Collections
Library           String
Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:lifecycle


*** Variables ***
${CONCURRENT_JOBS}    5
${LINES_PER_JOB}      4000


*** Test Cases ***
Stopped Job Leaves No Container Or JVM
    [Documentation]    Stopping a running service job ends it as dead, not failed; its JVM exits and
    ...    its crun container is gone from the driver's crun root.
    [Tags]    story:stop    needs:crunjar-diagnostics    needs:local-agents
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 2
    ${pid}=    Get Task Process Id    ${job}
    ${container}=    Get Container Name    ${job}
    Container Should Exist    ${container}
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead    failed=${False}
    Wait For Job Status    ${job}    dead
    Container Should Not Exist    ${container}
    Process Should Not Be Running    ${pid}

Stopped Job Leaves No JVM Running
    [Documentation]    Once the task of a stopped service job is dead, its JVM has exited too: stopping
    ...    a job stops what it ran, not only what Nomad reports of it.
    [Tags]    story:stop    needs:local-agents
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 2
    ${pid}=    Get Task Process Id    ${job}
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead
    Process Should Not Be Running    ${pid}    The JVM (pid ${pid}) still runs after its task was stopped

Purged Job Leaves Nothing Of Its Task On The Host
    [Documentation]    Stopping and purging a job that ran removes everything its task held on the host:
    ...    processes, containers, their state, mounts, cgroups and the allocation's dirs.
    [Tags]    story:stop    needs:local-agents
    ${before}=    Take Resource Snapshot
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 2
    Stop Job    ${job}
    Resources Should Not Have Leaked    ${before}    timeout=30s

Restarted Allocation Runs A New JVM And Keeps Both Runs' Output
    [Documentation]    Restart Allocation restarts the task in place once: a new JVM (another host pid)
    ...    starts, and the task's log holds the first run's output followed by the second's.
    [Tags]    story:restart
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar    env=${{ {"APP_ARGS": "200"} }}
    Wait Until Task Log Contains    ${job}    ^heartbeat 3$    regexp=${True}
    ${first}=    Get Task Process Id    ${job}
    Restart Allocation    ${job}
    Wait For Allocation Restarts    ${job}    1
    Wait Until Task Log Contains    ${job}    (?s)long-runner started.*long-runner started.*^heartbeat 3$
    ...    regexp=${True}
    ${second}=    Get Task Process Id    ${job}
    Should Not Be Equal As Integers    ${first}    ${second}    The restart kept the same JVM
    Task Events Should Contain    ${job}    Restart Signaled    User requested running tasks to restart
    Long Runner Should Have Run    ${job}    times=2

Concurrent Jobs Complete With Their Own Unmixed Logs
    [Documentation]    Five jobs started at once, each writing lines of its own width, all complete;
    ...    each log holds exactly its job's lines, checked by count, size and checksum.
    [Tags]    story:concurrency
    VAR    &{jobs}=    &{EMPTY}
    FOR    ${index}    IN RANGE    ${CONCURRENT_JOBS}
        ${width}=    Evaluate    60 + ${index}
        ${job}=    Submit Job    java-batch    jar_path=${JARS}/large-output.jar
        ...    env=${{ {"APP_ARGS": "lines ${LINES_PER_JOB} ${width}"} }}
        Set To Dictionary    ${jobs}    ${job}=${width}
    END
    FOR    ${job}    ${width}    IN    &{jobs}
        Wait For Job To Complete Successfully    ${job}    timeout=2 min
        ${done}=    Large Output Should Be Complete    ${job}
        Should Be Equal As Integers    ${done}[lines]    ${LINES_PER_JOB}
        Should Be Equal As Integers    ${done}[bytes]    ${{ ${LINES_PER_JOB} * ${width} }}
    END

Flaky Task Succeeds Within Its Restart Policy
    [Documentation]    A task failing its first two runs, with two restarts allowed, is restarted twice
    ...    and then completes successfully; its log shows the three runs.
    [Tags]    story:transient-failures
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/flaky.jar    env=${{ {"APP_ARGS": "2"} }}
    ...    restart_attempts=${2}    restart_delay=1s
    Wait For Job To Complete Successfully    ${job}    timeout=90s
    ${restarts}=    Get Task Restart Count    ${job}
    Should Be Equal As Integers    ${restarts}    2
    Task Events Should Contain    ${job}    Restarting    Task restarting in
    Task Log Should Be Equal    ${job}
    ...    flaky run 1: failing on purpose\nflaky run 2: failing on purpose\nflaky run 3: succeeded\n
    Task Exit Code Should Be    ${job}    0

Flaky Task Fails Once Its Restart Attempts Are Exhausted
    [Documentation]    A task that keeps failing is restarted as often as the policy allows (once), then
    ...    Nomad stops restarting it, saying the attempts are exceeded, and the allocation fails.
    [Tags]    story:transient-failures
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/flaky.jar    env=${{ {"APP_ARGS": "5"} }}
    ...    restart_attempts=${1}    restart_delay=1s
    Wait For Allocation Status    ${job}    failed    timeout=90s
    ${restarts}=    Get Task Restart Count    ${job}
    Should Be Equal As Integers    ${restarts}    1
    Task Events Should Contain    ${job}    Not Restarting
    ...    Exceeded allowed attempts 1 in interval 24h0m0s and mode is "fail"
    Task Log Should Be Equal    ${job}    flaky run 1: failing on purpose\nflaky run 2: failing on purpose\n
    Task Exit Code Should Be    ${job}    1


*** Keywords ***
Container Should Exist
    [Documentation]    Fails unless the OCI runtime keeps the container's state in the agent's state dir.
    [Arguments]    ${container}
    ${held}=    Take Resource Snapshot
    Should Contain Match    ${held}[containers]    *container ${container} in *

Container Should Not Exist
    [Documentation]    Fails while the OCI runtime still keeps the container's state in the agent's state dir.
    [Arguments]    ${container}
    ${held}=    Take Resource Snapshot
    Should Not Contain Match    ${held}[containers]    *container ${container} in *

Long Runner Should Have Run
    [Documentation]    The long-runner task ran ``times`` times in its allocation: restarted ``times - 1``
    ...    times, and its log holds the start line and first heartbeat of each run.
    [Arguments]    ${job}    ${times}
    ${restarts}=    Get Task Restart Count    ${job}
    Should Be Equal As Integers    ${restarts}    ${{ ${times} - 1 }}
    ${log}=    Get Task Logs    ${job}
    ${lines}=    Split To Lines    ${log}
    ${starts}=    Get Match Count    ${lines}    long-runner started pid *
    Should Be Equal As Integers    ${starts}    ${times}
    Should Be Equal As Integers    ${{ $lines.count("heartbeat 1") }}    ${times}

Get Container Name
    [Documentation]    The crun container id the driver gives the job's task: crunjar-<alloc id>-<task>.
    [Arguments]    ${job}
    ${alloc}=    Get Allocation    ${job}
    RETURN    crunjar-${alloc}[ID]-app
