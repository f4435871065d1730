*** Settings ***
Documentation    Run by contract/timeouts.robot in a robot process of its own, with crunjar's fault
...              ``hang-start`` or ``hang-stop`` on (CRUNJAR_FAULTS) and a short NOMAD_E2E_TEST_TIMEOUT: these
...              tests set no timeout of their own and would otherwise wait on the hung driver call. The
...              teardown gives the hung allocation and the agent a few seconds each, not the defaults' 10:
...              the driver never answers, and what happens after that wait is the same.

Resource         ../../resources/common.resource

Test Teardown    Stop All Nomad Servers    grace=2s    timeout=3s


*** Test Cases ***
Task Whose Start Hangs
    [Documentation]    Fixture: not a specification, see contract/timeouts.robot.
    Start Nomad Server
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait For Task State    ${job}    running    timeout=10 min

Task Whose Stop Hangs
    [Documentation]    Fixture: not a specification, see contract/timeouts.robot.
    Start Nomad Server
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait For Task State    ${job}    running
    Stop Job    ${job}    timeout=10 min
