*** Settings ***
Documentation     Story: resource limits. The memory a job asks for is the container's limit: a JVM
...               that goes beyond it is OOM-killed and reported so, and a job asking for more memory
...               than any node has is not placed, with Nomad's reason.

Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:resources    story:resource-limits


*** Test Cases ***
JVM Exceeding Its Memory Limit Is OOM Killed And Reported
    [Documentation]    With a heap allowed beyond the task's 128 MB, allocating 400 MiB hits the cgroup
    ...    limit: the kernel kills the JVM (exit 137, signal 9), Nomad's Terminated event says "OOM
    ...    killed", the driver adds an event naming the limit, and the task fails.
    [Tags]    needs:oom-reporting    needs:jvm-options
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/memory-hog.jar    env=${{ {"APP_ARGS": "400"} }}
    ...    memory=${128}    jvm_options=${{ ["-Xmx512m"] }}
    Wait For Task State    ${job}    dead    failed=${True}
    ${terminated}=    Task Events Should Contain    ${job}    Terminated
    ...    Exit Code: 137, Signal: 9, Exit Message: "OOM killed"
    Should Be Equal    ${terminated}[details][oom_killed]    true
    Task Events Should Contain    ${job}    Driver    OOM killed: the container exceeded its memory limit of 128 MiB
    Task Log Should Not Contain    ${job}    memory-hog done

Job Asking For More Memory Than The Node Has Is Not Placed
    [Documentation]    A task asking for 1 TB of memory cannot be placed; the wait fails at once with
    ...    Nomad's placement reason instead of timing out, and no allocation is made.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    memory=${1000000}
    ${message}=    Run Keyword And Expect Error    *    Wait For Task State    ${job}    running    timeout=30s
    Should Contain    ${message}    Nomad cannot place it
    Should Match Regexp    ${message}    Dimension "memory" exhausted on \\d+ nodes?
    ${failures}=    Get Evaluation Failures    ${job}
    Should Match Regexp    ${failures}[0]    Dimension "memory" exhausted on \\d+ nodes?
    ${allocations}=    Get Job Allocations    ${job}
    Should Be Empty    ${allocations}
