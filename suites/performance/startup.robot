*** Settings ***
Documentation     Story: performance. How long a JAR takes to start through the driver under test, what
...               the framework itself spends on each job, and many short jobs at once. Medians and p90s
...               go to metrics.json; the bounds asserted only catch what is broken, not what is slow.

Resource          ../../resources/performance.resource

Suite Setup       Start Measured Nomad Agent
Suite Teardown    Finish Measured Suite

Test Tags         area:performance    story:performance    needs:local-agents


*** Variables ***
# Enough for the checks; `make bench` takes more samples (bench/sampling.py).
${STARTUP_RUNS}       3
${OVERHEAD_RUNS}      3
${CONCURRENT_JOBS}    10
# Far beyond any healthy figure: a run past these is broken, not slow.
${STARTUP_BOUND}      30
${FRAMEWORK_BOUND}    10


*** Test Cases ***
JAR Starts Through The Driver Every Time And Its Start Time Is Recorded
    [Documentation]    The start-probe JAR runs ${STARTUP_RUNS} times in a row; every run completes, and the
    ...    seconds from the job's submission to the task's Started event and to the JVM's main are
    ...    recorded (median, p90) as startup_to_started and startup_to_main.
    ${startup}=    Measure Job Startup Time    jar_path=${JARS}/start-probe.jar    runs=${STARTUP_RUNS}
    Record Metric    startup_to_started    ${startup}[started]    s
    Record Metric    startup_to_main    ${startup}[main]    s
    Every Sample Should Be Below    ${startup}[main]    ${STARTUP_BOUND}    seconds to main

Framework Overhead Per Job Is Recorded
    [Documentation]    What the framework itself spends on each job, apart from Nomad and the JVM: rendering,
    ...    parsing and registering it in Submit Job, noticing its completion after Nomad's Terminated
    ...    event, and stopping and purging it in Stop Job, recorded as framework_submit,
    ...    framework_detect and framework_stop, each beside Nomad's part of it measured in the same call
    ...    (framework_submit_nomad...), the framework's own part (framework_submit_own...) and the steps of
    ...    Submit Job (framework_submit_render, _parse, _register, _track).
    ${runs}=    Measure Job Startup Time    jar_path=${JARS}/hello.jar    runs=${OVERHEAD_RUNS}    marker=${EMPTY}
    FOR    ${figure}    IN    submit    submit_nomad    submit_own    submit_render    submit_parse
    ...    submit_register    submit_track    detect    detect_nomad    detect_own    stop    stop_nomad    stop_own
        Record Metric    framework_${figure}    ${runs}[${figure}]    s
    END
    Every Sample Should Be Below    ${runs}[submit]    ${FRAMEWORK_BOUND}    seconds in Submit Job
    Every Sample Should Be Below    ${runs}[detect]    ${FRAMEWORK_BOUND}    seconds to notice a completion

Concurrent Short Jobs All Complete
    [Documentation]    ${CONCURRENT_JOBS} hello jobs submitted at once all complete successfully; the time from
    ...    the first submission to the last completion is recorded as concurrent_jobs_total, and each
    ...    job's own time from submission to termination as concurrent_jobs_each.
    ${run}=    Measure Concurrent Job Runs    ${CONCURRENT_JOBS}    jar_path=${JARS}/hello.jar
    ...    cpu=${100}    memory=${128}
    Length Should Be    ${run}[durations]    ${CONCURRENT_JOBS}
    Record Metric    concurrent_jobs_total    ${run}[total]    s
    Record Metric    concurrent_jobs_each    ${run}[durations]    s


*** Keywords ***
Every Sample Should Be Below
    [Documentation]    Fails naming the samples when any of them is ``bound`` or more.
    [Arguments]    ${samples}    ${bound}    ${what}
    ${over}=    Evaluate    [sample for sample in $samples if sample >= ${bound}]
    Should Be Empty    ${over}    ${what} reached ${bound} or more: ${over} (all: ${samples})
