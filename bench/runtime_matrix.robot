*** Settings ***
Documentation       Start latency of the runtime matrix: for each OCI runtime (an agent each) and each
...                 Java version of the matrix, the median of ${RUNS} runs of the start-probe JAR, from
...                 submission to Nomad's Started event and to the JVM's main. Prints the table and
...                 writes it to runtime-matrix.json in the output directory. Run it alone, under the
...                 host's e2e lock:
...                 ``flock /tmp/nomad-e2e.lock .venv/bin/robot --outputdir /tmp/bench bench/runtime_matrix.robot``

Library             Performance
Resource            ../suites/runtimes/runtimes.resource

Suite Setup         Start Measured Runtime Agents
Suite Teardown      Finish Measured Runtime Agents


*** Variables ***
${RUNS}     5


*** Test Cases ***
Start Latency Per Runtime And Java Version
    [Documentation]    Measures every (runtime, Java version) pair one after another.
    VAR    @{rows}=    @{EMPTY}
    FOR    ${runtime}    IN    crun    runc
        FOR    ${java}    IN    @{JAVA_VERSIONS}
            ${startup}=    Measure Job Startup Time    jar_path=${JARS}/start-probe.jar    runs=${RUNS}
            ...    config=${{ {"java_version": int($java)} }}    agent=${runtime}
            ${started}=    Evaluate    round(statistics.median($startup["started"]), 3)    modules=statistics
            ${main}=    Evaluate    round(statistics.median($startup["main"]), 3)    modules=statistics
            VAR    &{row}=    runtime=${runtime}    java=${{ int($java) }}    started=${started}    main=${main}
            Append To List    ${rows}    ${row}
        END
    END
    ${lines}=    Evaluate    [f"{r['runtime']} {r['java']} {r['started']} {r['main']}" for r in $rows]
    ${table}=    Catenate    SEPARATOR=\n    runtime java started_s main_s    @{lines}
    Log    ${table}    console=${True}
    Create File    ${OUTPUT DIR}/runtime-matrix.json    ${{ json.dumps($rows, indent=1) }}


*** Keywords ***
Start Measured Runtime Agents
    [Documentation]    Takes the measurement lock and starts an agent per runtime.
    Acquire Measurement Lock
    Start Nomad Server    name=crun
    Start Nomad Server    name=runc    plugin_config=${{ {"runtime": "runc"} }}

Finish Measured Runtime Agents
    [Documentation]    Stops the agents and releases the measurement lock.
    Run Keyword And Continue On Failure    Stop Jobs And Check For Leaks
    Stop All Nomad Servers
    Release Measurement Lock
