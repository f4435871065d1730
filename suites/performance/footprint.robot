*** Settings ***
Documentation     Story: performance. What Nomad and the driver plugin cost in memory themselves: the
...               plugin's resident memory stays flat over many jobs (no leak per task), and the agent's
...               is recorded.

Resource          ../../resources/performance.resource

Suite Setup       Start Measured Nomad Agent
Suite Teardown    Finish Measured Suite

Test Tags         area:performance    story:performance    needs:local-agents


*** Variables ***
# Enough for the check; `make bench` runs 5 batches of 10 (bench/sampling.py).
${BATCHES}                2
${JOBS_PER_BATCH}         5
# Go's heap and a plugin's goroutines move by a few MiB; a leak of a task's worth of state per job does not.
${PLUGIN_GROWTH_BOUND}    32 MiB
${AGENT_MEMORY_BOUND}     1024


*** Test Cases ***
Driver Plugin Memory Stays Flat Over Many Jobs
    [Documentation]    After a warm-up batch, ${BATCHES} batches of ${JOBS_PER_BATCH} short jobs run; the driver
    ...    plugin's RSS after each batch is recorded as driver_plugin_rss, and it grows by no more than
    ...    ${PLUGIN_GROWTH_BOUND} from before the first batch to after the last.
    Run Batch Of Short Jobs
    ${before}=    Get Driver Plugin Memory
    VAR    @{samples}=    @{EMPTY}
    FOR    ${_}    IN RANGE    ${BATCHES}
        Run Batch Of Short Jobs
        ${rss}=    Get Driver Plugin Memory
        Append To List    ${samples}    ${{ ${rss} / ${MIB} }}
    END
    Record Metric    driver_plugin_rss    ${samples}    MiB
    ${growth}=    Driver Plugin Memory Should Not Have Grown    ${before}    by_more_than=${PLUGIN_GROWTH_BOUND}
    Record Metric    driver_plugin_rss_growth    ${{ $growth / ${MIB} }}    MiB

Nomad Agent Memory Is Recorded And Bounded
    [Documentation]    The agent's own resident memory (server and client in one process) is recorded as
    ...    nomad_agent_rss, and is below ${AGENT_MEMORY_BOUND} MiB.
    ${rss}=    Get Nomad Agent Memory
    ${mib}=    Bytes As MiB    ${rss}
    Record Metric    nomad_agent_rss    ${mib}    MiB
    Should Be True    ${mib} < ${AGENT_MEMORY_BOUND}    The agent holds ${mib} MiB


*** Keywords ***
Run Batch Of Short Jobs
    [Documentation]    ${JOBS_PER_BATCH} hello jobs at once, all completed and stopped.
    Measure Concurrent Job Runs    ${JOBS_PER_BATCH}    jar_path=${JARS}/hello.jar    cpu=${100}    memory=${128}
