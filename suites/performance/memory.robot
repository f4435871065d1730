*** Settings ***
Documentation     Story: performance. What a task's memory is against its limit, as the driver reports it
...               through Nomad's allocation stats: a JVM whose heap is capped stays well inside its
...               limit, and one that is not is OOM-killed at its limit without touching its neighbour.

Resource          ../../resources/performance.resource

Suite Setup       Start Measured Nomad Agent
Suite Teardown    Finish Measured Suite

Test Tags         area:performance    story:performance    needs:local-agents


*** Variables ***
# Enough for the check; `make bench` samples longer (bench/sampling.py).
${MEMORY_WINDOW}    5s


*** Test Cases ***
JVM With A 64 MB Heap Stays Under Its 256 MB Memory Limit
    [Documentation]    A JVM run with -Xmx64m that keeps its heap full and busy (the heap-churner) uses
    ...    less than the task's memory = 256 over ${MEMORY_WINDOW} of sampling; its peak usage and RSS are
    ...    recorded as heap_capped_jvm_peak_usage and heap_capped_jvm_peak_rss.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/heap-churner.jar    args=${{ ["32", "60"] }}
    ...    jvm_options=${{ ["-Xmx64m"] }}    memory=${256}
    Wait Until Task Log Contains    ${job}    heap-churner started
    ${series}=    Sample Task Resource Usage    ${job}    duration=${MEMORY_WINDOW}    interval=1s
    ...    label=heap-capped JVM
    ${usage}=    Task Memory Usage Should Stay Below    ${job}    256 MB    series=${series}
    ${rss}=    Task Memory Usage Should Stay Below    ${job}    256 MB    measure=rss    series=${series}
    Task Events Should Not Contain    ${job}    Terminated
    Record Metric    heap_capped_jvm_peak_usage    ${{ $usage / ${MIB} }}    MiB
    Record Metric    heap_capped_jvm_peak_rss    ${{ $rss / ${MIB} }}    MiB

Memory Hog Is OOM Killed At Its Limit While Its Neighbour Is Untouched
    [Documentation]    With a neighbour running beside it, a JVM allowed a 512 MB heap that allocates 400 MiB
    ...    in a 128 MB task is OOM-killed at its limit and reported so; the neighbour runs on in the
    ...    same JVM, never restarted, still writing, and inside its own limit.
    [Tags]    needs:oom-reporting
    ${neighbour}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar    args=${{ ["200"] }}
    Wait Until Task Log Contains    ${neighbour}    heartbeat 2
    ${pid}=    Get Task Process Id    ${neighbour}
    ${hog}=    Submit Job    java-batch    jar_path=${JARS}/memory-hog.jar    args=${{ ["400"] }}
    ...    memory=${128}    jvm_options=${{ ["-Xmx512m"] }}
    Wait For Task State    ${hog}    dead    failed=${True}
    Task Events Should Contain    ${hog}    Terminated    OOM killed
    Task Should Be Untouched    ${neighbour}    ${pid}
    Task Memory Usage Should Stay Below    ${neighbour}    duration=3s
