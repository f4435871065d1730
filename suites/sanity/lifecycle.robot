*** Settings ***
Documentation     Story: a task's life. StartTask runs the JAR in the environment a client builds; WaitTask
...               delivers its exit code and signal; its stdout and stderr reach the client's FIFOs complete;
...               its environment, arguments and the shared alloc dir reach the JVM; InspectTask follows it.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:task-lifecycle


*** Test Cases ***
Task Runs To Completion With Exit Code Zero
    [Documentation]    The hello JAR prints its greeting and exits 0, no signal, not OOM killed.
    Start Driver Task    hello    jar_path=${JARS}/hello.jar
    ${exit}=    Wait For Driver Task    hello
    Exit Should Be    ${exit}    0
    Should Not Be True    ${exit}[oom_killed]
    Driver Task Output Should Contain    hello    Hello from crunjar!
    [Teardown]    Destroy Driver Task    hello

Non Zero Exit Code Is Delivered
    [Documentation]    A JVM calling System.exit(3) ends with exit code 3 and no signal.
    Start Driver Task    three    jar_path=${JARS}/exit-code.jar    env=${{ {"APP_ARGS": "3"} }}
    ${exit}=    Wait For Driver Task    three
    Exit Should Be    ${exit}    3
    Driver Task Output Should Contain    three    exiting with 3
    [Teardown]    Destroy Driver Task    three

Stdout And Stderr Reach Their Own FIFOs
    [Documentation]    What the JVM writes to System.err arrives on the stderr FIFO, System.out on stdout.
    Start Driver Task    streams    jar_path=${JARS}/stderr.jar    env=${{ {"APP_ARGS": "3"} }}
    Wait For Driver Task    streams
    ${stderr}=    Get Driver Task Output    streams    stderr
    ${stdout}=    Get Driver Task Output    streams    stdout
    Should Be Equal    ${stderr}    stderr line 1\nstderr line 2\nstderr line 3\n
    Should Be Equal    ${stdout}    stdout marker\n
    [Teardown]    Destroy Driver Task    streams

Line Printed Right Before Exit Reaches Stdout
    [Documentation]    The last line a JVM prints before it exits is in its output once WaitTask answered.
    Start Driver Task    last    jar_path=${JARS}/sleeper.jar    env=${{ {"APP_ARGS": "0.3 0 100"} }}
    Wait For Driver Task    last
    ${stdout}=    Get Driver Task Output    last
    Should End With    ${stdout}    sleeper exiting with 0\n
    [Teardown]    Destroy Driver Task    last

Program Arguments Reach The Main Class
    [Documentation]    The task's args arrive in order, spaces inside one argument kept.
    [Tags]    needs:args
    Start Driver Task    args    jar_path=${JARS}/hello.jar    args=${{ ["one", "two words", "3"] }}
    Wait For Driver Task    args
    Driver Task Output Should Contain    args    args: one two words 3\n
    [Teardown]    Destroy Driver Task    args

Task Environment Reaches The JVM
    [Documentation]    The job's env and the client's NOMAD_* variables (task name, allocation id) are in the
    ...    JVM's environment.
    Start Driver Task    env    jar_path=${JARS}/hello.jar    env=${{ {"HELLO_SANITY": "from the job"} }}
    Wait For Driver Task    env
    Driver Task Output Should Contain    env    env: HELLO_SANITY=from the job\n
    Driver Task Output Should Contain    env    env: NOMAD_TASK_NAME=env\n
    Driver Task Output Should Contain    env    env: NOMAD_JOB_NAME=sanity\n
    [Teardown]    Destroy Driver Task    env

JVM Options Reach The JVM
    [Documentation]    The task's jvm_options reach the JVM: one it does not know makes it refuse to start,
    ...    naming the option on stderr and exiting non-zero.
    [Tags]    needs:jvm-options
    Start Driver Task    badopt    jar_path=${JARS}/hello.jar    jvm_options=${{ ["-XX:NoSuchSanityOption"] }}
    ${exit}=    Wait For Driver Task    badopt
    Should Not Be Equal As Integers    ${exit}[exit_code]    0
    Driver Task Output Should Contain    badopt    NoSuchSanityOption    stderr
    [Teardown]    Destroy Driver Task    badopt

Task Shares The Alloc Dir With The Client
    [Documentation]    The shared alloc dir is the task's NOMAD_ALLOC_DIR: a file the client leaves there is
    ...    read by the JVM, and the file the JVM leaves there is on the host.
    Start Driver Task    peer    jar_path=${JARS}/alloc-share.jar
    ${shared}=    Get Driver Task Directory    peer    alloc
    Create File    ${shared}/from-the-host.draft    from the host
    Move File    ${shared}/from-the-host.draft    ${shared}/from-the-host.peer
    ${exit}=    Wait For Driver Task    peer
    Exit Should Be    ${exit}    0
    Driver Task Output Should Contain    peer    read from another task: from the host
    ${left}=    List Files In Directory    ${shared}    *.peer
    Length Should Be    ${left}    2
    [Teardown]    Destroy Driver Task    peer

InspectTask Follows A Task From Running To Exited
    [Documentation]    A running task is ``running`` with a start time; once it exited it is ``exited`` with
    ...    its exit code and a completion time after the start.
    Start Sleeper Task    inspected    seconds=1    exit_code=4
    ${running}=    Inspect Driver Task    inspected
    Should Be Equal    ${running}[state]    running
    Wait For Driver Task    inspected
    ${exited}=    Inspect Driver Task    inspected
    Should Be Equal    ${exited}[state]    exited
    Should Be Equal As Integers    ${exited}[exit_code]    4
    Should Be True    $exited["completed_at"] > $exited["started_at"]
    [Teardown]    Destroy Driver Task    inspected
