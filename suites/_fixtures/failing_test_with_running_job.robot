*** Settings ***
Documentation    Run by isolation/cleanup.robot in a robot process of its own: a test that starts an
...              agent and a job, then fails; its own teardown captures no forensics.

Resource         ../../resources/common.resource


*** Test Cases ***
Test That Fails While Its Agent Runs A Job
    [Documentation]    Fixture: not a specification, see isolation/cleanup.robot.
    Start Nomad Server
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 1
    Fail    Failing on purpose with the agent and its job still running
    [Teardown]    Log    A custom teardown that captures nothing
