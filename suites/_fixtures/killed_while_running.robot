*** Settings ***
Documentation    Run by isolation/cleanup.robot and SIGKILLed there while its agent and job run, so
...              no teardown or listener of this robot process ever runs.

Library          OperatingSystem
Resource         ../../resources/common.resource


*** Variables ***
${READY_FILE}    ${TEMPDIR}/killed-while-running.ready


*** Test Cases ***
Test Killed While Its Agent Runs A Job
    [Documentation]    Fixture: not a specification, see isolation/cleanup.robot.
    Start Nomad Server
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 1
    Create File    ${READY_FILE}
    Wait Until Task Log Contains    ${job}    this line never comes    timeout=10 min
