*** Settings ***
Documentation    Story: raw API checks. Every agent has a RequestsLibrary session, so a check the keywords
...              do not cover is one call to Nomad's HTTP API, with the status it must answer.

Resource         ../../resources/common.resource

Suite Setup      Start Shared Nomad Agent

Test Tags        area:api    story:raw-api


*** Test Cases ***
Job List Is Served On The Current Agent's Session
    [Documentation]    ``nomad`` names the session of the agent started last; a submitted job is listed.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    ${response}=    GET On Session    nomad    /v1/jobs    expected_status=200
    ${ids}=    Evaluate    [job["ID"] for job in $response.json()]
    Should Contain    ${ids}    ${job}

Node List Shows The Agent's Node Ready
    [Documentation]    The session named after the agent reaches the same node the keywords report.
    ${agent}=    Get Nomad Agent Info
    ${response}=    GET On Session    ${agent}[name]    /v1/nodes    expected_status=200
    ${node}=    Get Nomad Node
    ${listed}=    Evaluate    {node["ID"]: node["Status"] for node in $response.json()}
    Should Be Equal    ${listed}[${node}[ID]]    ready

Unknown Job Answers 404
    [Documentation]    A job that does not exist is a 404 with Nomad's own text.
    ${response}=    GET On Session    nomad    /v1/job/no-such-job    expected_status=404
    Should Contain    ${response.text}    job not found

Malformed HCL Answers 400
    [Documentation]    Nomad's parser refuses a job it cannot read with a 400 naming the position.
    VAR    &{body}=    JobHCL=job "x" {    Canonicalize=${True}
    ${response}=    PUT On Session    nomad    /v1/jobs/parse    json=${body}    expected_status=400
    Should Contain    ${response.text}    input.hcl:1
