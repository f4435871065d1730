*** Settings ***
Documentation    Story: job submission and monitoring. Jobs are rendered from templates, parsed by
...              Nomad's own parser, and followed through their states with blocking queries.

Resource         ../../resources/common.resource

Suite Setup      Start Shared Nomad Agent

Test Tags        story:job-submission    area:jobs


*** Test Cases ***
Submitted Job Gets A Unique Id And Is Registered
    [Documentation]    Each submission of a template is a new job with its own id.
    ${first}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    ${second}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Should Not Be Equal    ${first}    ${second}
    ${status}=    Get Job Status    ${first}
    Should Be True    "${status}" in ("pending", "running", "dead")

Job Moves From Pending Through Running To Complete
    [Documentation]    The waits see each state of a job that runs for a while, then ends well.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/long-runner.jar    env=${{ {"APP_ARGS": "100"} }}
    Wait For Task State    ${job}    running
    Wait Until Task Log Contains    ${job}    heartbeat 3
    Stop Job    ${job}    purge=${False}
    Wait For Job Status    ${job}    dead

Successful Job Completes With Exit Code Zero
    [Documentation]    Completion is detected and the exit code read from Nomad's task events.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    Wait For Allocation Status    ${job}    complete
    Task Exit Code Should Be    ${job}    0

Failing Job Is Detected As Failed With Its Exit Code
    [Documentation]    A JAR exiting 3 makes the allocation fail, and the wait for success says so at once.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar    env=${{ {"APP_ARGS": "3"} }}
    Wait For Allocation Status    ${job}    failed
    Task Exit Code Should Be    ${job}    3
    Task Events Should Contain    ${job}    Terminated    Exit Code: 3
    Run Keyword And Expect Error    *failed*    Wait For Job To Complete Successfully    ${job}    timeout=10s

Waiting For Running Fails Fast When The Task Is Already Dead
    [Documentation]    A wait that can no longer succeed fails immediately, not at its timeout.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar    env=${{ {"APP_ARGS": "1"} }}
    Wait For Allocation Status    ${job}    failed
    ${started}=    Get Time    epoch
    Run Keyword And Expect Error    *dead*    Wait For Task State    ${job}    running    timeout=60s
    ${elapsed}=    Evaluate    time.time() - ${started}    modules=time
    Should Be True    ${elapsed} < 10    The wait took ${elapsed} s instead of failing fast

Stopped Job Reaches Its Desired State
    [Documentation]    Stopping a running service job is detected as the job becoming dead.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait For Task State    ${job}    running
    Stop Job    ${job}    purge=${False}
    Wait For Job Status    ${job}    dead
    Wait For Task State    ${job}    dead

Malformed Job HCL Fails With Nomad's Message And Line
    [Documentation]    Nomad's own parser reports the error; the message points at the line.
    ${hcl}=    Catenate    SEPARATOR=\n
    ...    job "broken" {
    ...    type = "batch"
    ...    group "g" {
    ...    task "t" { driver = "crunjar"
    ...    }
    ${message}=    Run Keyword And Expect Error    *    Submit Job    hcl=${hcl}
    Should Contain    ${message}    Failed to parse job
    Should Match Regexp    ${message}    input.hcl:4,\\d+
    Should Contain    ${message}    > 4 | task "t" { driver = "crunjar"

Missing Template Variable Fails Naming The Variable
    [Documentation]    Templates are strict: a forgotten variable is an error that names it, before Nomad
    ...    sees the job (raw-exec needs its ``command``, whatever the driver under test).
    Run Keyword And Expect Error    *needs variable 'command'*    Submit Job    raw-exec

Job Nomad Rejects Fails With Nomad's Reason
    [Documentation]    A job that parses but is invalid is rejected with Nomad's validation message.
    Run Keyword And Expect Error    *count*
    ...    Submit Job    java-batch    jar_path=${JARS}/hello.jar    count=${-1}

Job Asking For A Driver No Node Has Is Reported Unplaceable
    [Documentation]    The wait reports Nomad's placement failure instead of timing out.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    driver=no-such-driver
    ${message}=    Run Keyword And Expect Error    *    Wait For Task State    ${job}    running    timeout=30s
    Should Match Regexp    ${message}    Constraint "missing drivers" filtered \\d+ nodes?
