*** Settings ***
Documentation    Story: output verification. Task logs are read completely from Nomad, matched,
...              compared exactly with a readable diff, and exit codes checked.

Resource         ../../resources/common.resource

Suite Setup      Start Shared Nomad Agent

Test Tags        story:output-verification    area:output


*** Test Cases ***
Stdout Of A Task Is Retrieved Completely
    [Documentation]    The greeting, the task's environment and the Java version all arrive.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    env=${{ {"HELLO_TARGET": "all"} }}
    Wait For Job To Complete Successfully    ${job}
    ${stdout}=    Get Task Logs    ${job}
    Should Contain    ${stdout}    Hello from crunjar!
    Should Contain    ${stdout}    env: HELLO_TARGET=all
    Should Match Regexp    ${stdout}    java.version: \\d+

Stderr Is Kept Apart From Stdout
    [Documentation]    Lines written to stderr appear in stderr only.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/stderr.jar    env=${{ {"APP_ARGS": "3"} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Be Equal    ${job}    stderr line 1\nstderr line 2\nstderr line 3\n    stream=stderr
    Task Log Should Be Equal    ${job}    stdout marker\n
    Task Log Should Not Contain    ${job}    stderr line

Log Lines Match Patterns
    [Documentation]    Regular expressions match whole lines of the log.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    ...    env=${{ {"HELLO_TARGET": "world"} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Match Regexp    ${job}    ^env: HELLO_TARGET=world$
    Task Log Should Match Regexp    ${job}    ^env: NOMAD_ALLOC_ID=[0-9a-f-]{36}$

Exit Codes Are Reported Exactly
    [Documentation]    The exit code the JVM ends with is the one Nomad reports.
    FOR    ${code}    IN    0    1    42
        ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar    env=${{ {"APP_ARGS": "${code}"} }}
        Wait For Task State    ${job}    dead
        Task Exit Code Should Be    ${job}    ${code}
    END

Mismatching Log Fails With A Unified Diff
    [Documentation]    An exact comparison that fails shows what differs, line by line.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/stderr.jar    env=${{ {"APP_ARGS": "2"} }}
    Wait For Job To Complete Successfully    ${job}
    ${message}=    Run Keyword And Expect Error    *
    ...    Task Log Should Be Equal    ${job}    stderr line 1\nstderr line two\n    stream=stderr
    Should Contain    ${message}    line 2

Waiting For A Log Line Follows The Stream
    [Documentation]    The wait returns as soon as a long-running task prints the line.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar    env=${{ {"APP_ARGS": "100"} }}
    ${line}=    Wait Until Task Log Contains    ${job}    heartbeat 5    timeout=30s
    Should Contain    ${line}    heartbeat 5
    Stop Job    ${job}

Waiting For A Log Line That Never Comes Fails With The Last Lines Seen
    [Documentation]    A log wait that times out quotes what the task did print.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar    env=${{ {"APP_ARGS": "100"} }}
    Wait Until Task Log Contains    ${job}    heartbeat 1
    ${message}=    Run Keyword And Expect Error    *did not contain 'never printed' within 3 seconds*
    ...    Wait Until Task Log Contains    ${job}    never printed    timeout=3s
    Should Contain    ${message}    heartbeat
    Stop Job    ${job}
