*** Settings ***
Documentation    Run by contract/usability.robot in a robot process of its own: README's example of "Using the
...              libraries from your own repository", with this checkout's Nomad, plugin and JAR (a unit test
...              keeps it equal to the README's otherwise).

Library          NomadServer
Library          NomadJob
Library          LogVerifier

Suite Setup      Start Nomad Server


*** Variables ***
${JARS}    %{NOMAD_E2E_JARS=${CURDIR}/../../jars/build}


*** Test Cases ***
My Driver Runs A JAR
    [Documentation]    Fixture: not a specification, see contract/usability.robot.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    Task Exit Code Should Be    ${job}    0
