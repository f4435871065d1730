*** Settings ***
Documentation    Run by external/secrets.robot at TRACE level with a token in E2E_TOKEN: attaches with it,
...              calls the API through its RequestsLibrary session and runs a job there.

Resource         ../../resources/external.resource


*** Variables ***
${TOKEN: Secret}    %{E2E_TOKEN}
${NAMESPACE}        ${None}


*** Test Cases ***
Work With A Secret Token
    [Documentation]    Fixture: not a specification, see external/secrets.robot.
    Start Nomad Server    name=with-token    token=${TOKEN}    namespace=${NAMESPACE}
    GET On Session    with-token    /v1/jobs    expected_status=200
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    agent=with-token
    Wait For Job To Complete Successfully    ${job}    agent=with-token
