*** Settings ***
Documentation     Story: acceptance criteria in Given/When/Then form. The keywords of the libraries read
...               as the criteria themselves; Robot drops the Given/When/Then/And prefixes.

Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:happy    story:acceptance


*** Test Cases ***
A JAR Runs To Completion And Says Hello
    [Documentation]    The plain case a driver must get right: the JAR's output and exit code, unchanged.
    Given The Driver Is Healthy
    When A Batch Job Runs    hello.jar
    Then The Job Completes Successfully
    And The Task Prints    Hello from crunjar!
    And The Task Exits With    0

A Failing JAR Is Reported With Its Own Exit Code
    [Documentation]    A JAR that ends with a non-zero status fails the task with exactly that status.
    Given The Driver Is Healthy
    When A Batch Job Runs    exit-code.jar    3
    Then The Task Fails
    And The Task Exits With    3

A Stopped Service Gets Its Shutdown Hook
    [Documentation]    A service whose job asks for SIGTERM to stop it runs its shutdown hook and exits 143.
    Given A Service Is Running    graceful.jar
    When The Job Is Stopped
    Then The Task Prints    GRACEFUL-SHUTDOWN-COMPLETE
    And The Task Exits With    143


*** Keywords ***
The Driver Is Healthy
    [Documentation]    The shared agent's node has the driver under test detected and healthy.
    Driver Should Be Healthy

A Batch Job Runs
    [Documentation]    Submits a batch job running ``jar`` from the test JARs with ``inputs``, given in
    ...    APP_ARGS, which the test applications read when they get no program arguments.
    [Arguments]    ${jar}    @{inputs}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/${jar}    env=${{ {"APP_ARGS": " ".join($inputs)} }}
    VAR    ${JOB}=    ${job}    scope=TEST    # robocop: off=VAR06

A Service Is Running
    [Documentation]    Submits a service job running ``jar``, stopped with SIGTERM, and waits until it prints.
    [Arguments]    ${jar}
    ${job}=    Submit Job    java-service    jar_path=${JARS}/${jar}    kill_signal=SIGTERM
    VAR    ${JOB}=    ${job}    scope=TEST    # robocop: off=VAR06
    Wait Until Task Log Contains    ${JOB}    started

The Job Is Stopped
    [Documentation]    Stops the job, keeping it registered so its task can still be inspected.
    Stop Job    ${JOB}    purge=${False}

The Job Completes Successfully
    [Documentation]    The job is dead with every task ended successfully.
    Wait For Job To Complete Successfully    ${JOB}

The Task Fails
    [Documentation]    The task is dead and marked failed.
    Wait For Task State    ${JOB}    dead    failed=${True}

The Task Prints
    [Documentation]    The task's stdout contains ``text``.
    [Arguments]    ${text}
    Wait Until Task Log Contains    ${JOB}    ${text}

The Task Exits With
    [Documentation]    The task's last run ended with exit code ``code``.
    [Arguments]    ${code}
    Task Exit Code Should Be    ${JOB}    ${code}
