*** Settings ***
Documentation    Story: leak detection. The teardown every recovery suite ends with fails the suite when its
...              tasks left anything on the host, and lists each leftover precisely.

Library          OperatingSystem
Resource         ../../resources/recovery.resource
Library          ../libraries/RunRoots.py

Test Tags        story:recovery    area:framework    needs:local-agents


*** Variables ***
# raw_exec without cgroups stops a task by its process group: a child in a session of its own has left it.
${RAW_EXEC}    plugin "raw_exec" {\n    config {\n    enabled = true\n    no_cgroups = true\n    }\n}
# The task's child leaves its session, its working dir and its output streams: only its environment
# (NOMAD_ALLOC_ID) still says which task it came from. The task itself waits to be stopped.
${ESCAPE}      cd / && setsid sleep 300 </dev/null >/dev/null 2>&1 & exec sleep 600
# The pid of the process the escape test left, for its teardown.
${ESCAPED}     ${None}


*** Test Cases ***
Suite That Leaves Resources Behind Fails Its Teardown Listing Each One
    [Documentation]    A fixture suite leaves a process and a bundle dir in its driver's state dir: its suite
    ...    teardown fails naming both, and the agents are still stopped and cleaned up.
    ${output}    ${run_root}=    RunRoots.Run Fixture Suite    ${CURDIR}/_fixtures/leaky_suite.robot
    ...    --variable    LEAK_TIMEOUT:2s    expected_rc=1    timeout=3 min
    Should Contain    ${output}    Resources leaked (2 item(s)
    Should Match Regexp    ${output}    processes: recovery-client: process pid \\d+ \\(sleep 600\\)
    Should Match Regexp    ${output}    bundles: recovery-client: bundle \\S+/bundles/crunjar-leaked-bundle
    RunRoots.Run Root Should Be Clean    ${run_root}
    [Teardown]    Remove Fixture Run    ${run_root}

Process Escaping Its Task Is Named With Its Allocation
    [Documentation]    A raw_exec task starts a child in a new session that outlives Stop Job, re-parented away
    ...    from the task. No driver setting leads to it (raw_exec has no state dir or cgroup parent): the leak
    ...    check finds it by the allocation in its environment, fails naming it, and passes once it is killed.
    Start Nomad Server    name=escape-client    extra_hcl=${RAW_EXEC}
    ${before}=    Take Resource Snapshot
    ${job}=    Submit Job    raw-exec    job_type=service    command=/bin/sh    args=${{ ["-c", $ESCAPE] }}
    Wait For Task State    ${job}    running
    Stop Job    ${job}
    Leak Check Should Name The Escaped Process    ${before}
    Kill Escaped Process
    Resources Should Not Have Leaked    ${before}
    [Teardown]    Run Keywords    Kill Escaped Process    AND    Stop All Nomad Servers


*** Keywords ***
Leak Check Should Name The Escaped Process
    [Documentation]    The leak check fails naming one process, in an allocation, re-parented to pid 1; its
    ...    pid is kept for the test's teardown, which kills it whatever failed.
    [Arguments]    ${before}
    ${message}=    Run Keyword And Expect Error    *    Resources Should Not Have Leaked    ${before}    timeout=3s
    Should Contain    ${message}    Resources leaked (1 item(s)
    ${_}    ${pid}=    Should Match Regexp    ${message}
    ...    processes: escape-client: process pid (\\d+) in allocation [0-9a-f]{8} \\(sleep 300\\)
    # The teardown kills the escaped process, so it must outlive this keyword.
    VAR    ${ESCAPED}=    ${pid}    scope=TEST    # robocop: off=VAR06
    Should Be Equal As Integers    ${{ psutil.Process(int($pid)).ppid() }}    1
    ...    The escaped process was not re-parented to pid 1

Kill Escaped Process
    [Documentation]    Kills the process the escape test left, when it found one still running.
    IF    $ESCAPED is not None
        Evaluate    psutil.Process(int($ESCAPED)).kill() if psutil.pid_exists(int($ESCAPED)) else None
        ...    modules=psutil
        VAR    ${ESCAPED}=    ${None}    scope=TEST    # robocop: off=VAR06
    END

Remove Fixture Run
    [Documentation]    Removes the fixture run's run root.
    [Arguments]    ${run_root}
    Remove Directory    ${run_root}    recursive=${True}
