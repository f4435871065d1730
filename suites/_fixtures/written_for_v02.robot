*** Settings ***
Documentation    Run by contract/compatibility.robot in a robot process of its own: a suite as a user wrote it
...              against the keywords 0.2 documented, with the teardown 0.2's common.resource offered.

Resource         ../../resources/common.resource

Suite Setup      Start Shared Nomad Agent
Test Teardown    Capture Forensics If Test Failed


*** Test Cases ***
Hello JAR Prints Its Greeting
    [Documentation]    Fixture: not a specification, see contract/compatibility.robot.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    Hello from crunjar!
    Task Exit Code Should Be    ${job}    0

Exit Code Is Reported
    [Documentation]    Fixture: a second test, so the teardown runs twice and warns once.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/exit-code.jar    args=${{ ["3"] }}
    Wait For Job Status    ${job}    dead
    Task Exit Code Should Be    ${job}    3
