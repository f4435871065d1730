*** Settings ***
Documentation    Run by isolation/interruption.robot, under robot or pabot, and interrupted there while
...              its agents and jobs run. Each test writes what it holds to ``${READY_DIR}/<test>.json``
...              once its job runs, then waits until it is interrupted.

Library          OperatingSystem
Resource         ../../resources/common.resource

Test Teardown    Teardown Of An Interrupted Test


*** Variables ***
${READY_DIR}         ${TEMPDIR}
# With True the teardown stays in progress until robot is forced to exit (a second signal, a SIGKILL).
${TEARDOWN_WAITS}    ${False}


*** Test Cases ***
First Test Interrupted While Its Job Runs
    [Documentation]    Fixture: not a specification, see isolation/interruption.robot.
    Run A Job Until Interrupted

Second Test Interrupted While Its Job Runs
    [Documentation]    Fixture: the other process of a pabot run.
    Run A Job Until Interrupted


*** Keywords ***
Run A Job Until Interrupted
    [Documentation]    Starts an agent and a JVM task, says what they hold, and waits for a line that never comes.
    Start Nomad Server
    ${before}=    Take Resource Snapshot
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 1
    ${info}=    Get Nomad Agent Info
    VAR    &{state}=    info=${info}    before=${before}
    # Written whole and then renamed, so the interrupting test never reads half of it.
    Create File    ${READY_DIR}/${TEST NAME}.json.partial    ${{ json.dumps($state) }}
    Move File    ${READY_DIR}/${TEST NAME}.json.partial    ${READY_DIR}/${TEST NAME}.json
    Wait Until Task Log Contains    ${job}    this line never comes    timeout=10 min

Teardown Of An Interrupted Test
    [Documentation]    Says on the console that it ran; with ${TEARDOWN_WAITS} it stays in progress, so a
    ...    second signal arrives while teardowns still run.
    Log To Console    Teardown of '${TEST NAME}' runs
    IF    ${TEARDOWN_WAITS}
        Create File    ${READY_DIR}/${TEST NAME}.teardown
        # Waits on nothing of the agent's: under pabot the agent is stopped before the robot.
        Wait Until Created    ${READY_DIR}/${TEST NAME}.never    timeout=10 min
    END
    Stop Test Agents
    Log To Console    Teardown of '${TEST NAME}' ends
