*** Settings ***
Documentation     Story: edge cases of output. Large volumes of stdout, a single very long line and a
...               service logging for half a minute all reach Nomad complete, in order, while they are
...               written, and a task's last line is not lost when it exits.

Library           String
Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:edge    story:edge-output


*** Variables ***
${HEARTBEAT_MS}    500
${HEARTBEATS}      60
${ONE_MIB}         1048576


*** Test Cases ***
Fifty Megabytes Of Stdout Arrive Complete
    [Documentation]    50 MiB written as fast as the JVM can reach Nomad's log files whole: the line
    ...    count, byte count and SHA-256 of what Nomad returns match what the task wrote.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/large-output.jar    env=${{ {"APP_ARGS": "mb 50"} }}
    Wait For Job To Complete Successfully    ${job}    timeout=2 min
    ${done}=    Large Output Should Be Complete    ${job}
    Should Be Equal As Integers    ${done}[bytes]    ${{ 50 * ${ONE_MIB} }}

One Megabyte Single Line Arrives Intact
    [Documentation]    A single line of 1 MiB is neither split nor truncated on its way to Nomad.
    ${job}=    Submit Job
    ...    java-batch
    ...    jar_path=${JARS}/large-output.jar
    ...    env=${{ {"APP_ARGS": "line ${ONE_MIB}"} }}
    Wait For Job To Complete Successfully    ${job}
    ${done}=    Large Output Should Be Complete    ${job}
    Should Be Equal As Integers    ${done}[lines]    1
    Should Be Equal As Integers    ${done}[bytes]    ${ONE_MIB}

Line Printed Right Before Exit Is In The Log
    [Documentation]    A JAR whose last act is to print one line and exit: that line, the whole of its
    ...    output, is in the log once the task is dead.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Be Equal    ${job}    exiting with 0\n

Long Running Service Streams Its Log For Thirty Seconds And Stops Cleanly
    [Documentation]    A service printing a heartbeat every 0.5 s for 30 s: each heartbeat can be read
    ...    while the task runs (the 30th about 15 s after the first), none is lost or repeated, and
    ...    stopping it ends the task as killed, not failed. Bounded to 30 s of heartbeats.
    ${job}=    Submit Job
    ...    java-service
    ...    jar_path=${JARS}/long-runner.jar
    ...    env=${{ {"APP_ARGS": "${HEARTBEAT_MS}"} }}
    ${streamed}=    Seconds Between Log Lines    ${job}    heartbeat 1    heartbeat 30
    Log    Heartbeats 1 to 30 were read over ${streamed} s, as they were written (over 14.5 s)
    Should Be True    10 <= ${streamed} <= 25    The log did not arrive while it was written
    Wait For Task State    ${job}    running    timeout=5s
    Wait Until Task Log Contains    ${job}    ^heartbeat ${HEARTBEATS}$    regexp=${True}    timeout=30s
    Stop Job    ${job}    purge=${False}
    Wait For Task State    ${job}    dead    failed=${False}
    Task Events Should Contain    ${job}    Killed    Task successfully killed
    Heartbeats Should Be Consecutive    ${job}    at_least=${HEARTBEATS}


*** Keywords ***
Seconds Between Log Lines
    [Documentation]    Follows the task's log until the whole line ``first`` appears, then until the
    ...    whole line ``second`` does; returns the seconds between the two sightings.
    [Arguments]    ${job}    ${first}    ${second}
    Wait Until Task Log Contains    ${job}    ^${first}$    regexp=${True}
    ${start}=    Evaluate    time.monotonic()    modules=time
    Wait Until Task Log Contains    ${job}    ^${second}$    regexp=${True}    timeout=30s
    ${end}=    Evaluate    time.monotonic()    modules=time
    RETURN    ${{ round(${end} - ${start}, 1) }}

Heartbeats Should Be Consecutive
    [Documentation]    The log holds heartbeats 1, 2, 3... with none lost or repeated, at least ``at_least``.
    [Arguments]    ${job}    ${at_least}
    ${log}=    Get Task Logs    ${job}
    ${beats}=    Get Regexp Matches    ${log}    (?m)^heartbeat (\\d+)$    1
    ${numbers}=    Evaluate    [int(beat) for beat in $beats]
    Should Be True    len($numbers) >= ${at_least}    Only ${{ len($numbers) }} heartbeats arrived
    Should Be Equal    ${numbers}    ${{ list(range(1, len($numbers) + 1)) }}    Heartbeats were lost or repeated
