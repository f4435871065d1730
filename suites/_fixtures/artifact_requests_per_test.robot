*** Settings ***
Documentation    Run by contract/compatibility.robot in a robot process of its own: the tests of a suite share
...              one artifact server and each counts the requests it made.

Resource         ../../resources/common.resource

Suite Setup      Start Artifact Server


*** Test Cases ***
First Test Fetches The JAR Once
    [Documentation]    Fixture: not a specification, see contract/compatibility.robot.
    Fetch Artifact    hello.jar
    Artifact Should Have Been Requested    hello.jar    times=1    status=200

Second Test Counts Only Its Own Fetch Unless Asked For All
    [Documentation]    Fixture: the first test's request is not this test's.
    Fetch Artifact    hello.jar
    Artifact Should Have Been Requested    hello.jar    times=1    status=200
    Artifact Should Have Been Requested    hello.jar    times=2    scope=all

Cleared Requests Are Forgotten And Every Status Is An Int
    [Documentation]    Fixture: after Clear Artifact Requests only later requests are seen; a served file and a
    ...    missing one both have a plain int status.
    Fetch Artifact    hello.jar
    Clear Artifact Requests
    Fetch Artifact    hello.jar
    Fetch Artifact    missing.jar    expected_status=404
    ${requests}=    Get Artifact Requests    scope=all
    Length Should Be    ${requests}    2
    Should Be True    [type(r["status"]) for r in $requests] == [int, int]    ${requests}


*** Keywords ***
Fetch Artifact
    [Documentation]    GETs ``path`` from the artifact server, expecting ``expected_status``.
    [Arguments]    ${path}    ${expected_status}=200
    ${url}=    Get Artifact Url    ${path}
    GET    ${url}    expected_status=${expected_status}
