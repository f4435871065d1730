*** Settings ***
Documentation    Story: secrets stay out of the results. A run that attaches with an ACL token, calls the API
...              through its RequestsLibrary session and runs a job writes the token's secret nowhere in
...              output.xml or log.html, not even at TRACE level: they say ``<secret>`` where it was used.

Library          Process
Library          ../libraries/ResultFiles.py
Resource         ../../resources/external.resource

Suite Setup      Attach The Run To The Cluster

Test Tags        area:external    story:secrets    needs:external-cluster


*** Variables ***
# The Process library logs the environment of a process it gives variables to: the run's token goes
# in again as a Secret, which it logs as <secret>.
${RUN TOKEN: Secret}    %{NOMAD_TOKEN=}


*** Test Cases ***
A Token Given As A Secret Is In No Result File Of The Run
    [Documentation]    The token is created here and handed to a fixture run in its environment; that run's
    ...    output and log (token-run.xml and .html: a pabot run merges every output.xml below its
    ...    results), whose every keyword's arguments are logged, never hold its secret.
    ${namespace}=    Get Nomad Namespace
    ${token}=    Create Test Token    ${namespace}    write
    VAR    ${results}=    ${OUTPUT DIR}/fixtures/token-run
    ${run}=    Run Process    ${{ sys.executable }}    -m    robot    --loglevel    TRACE
    ...    --outputdir    ${results}    --output    token-run.xml    --log    token-run.html    --report    NONE
    ...    --variable    NAMESPACE:${namespace}    ${CURDIR}/../_fixtures/token_run.robot
    ...    env:E2E_TOKEN=${token}    env:NOMAD_TOKEN=${RUN TOKEN}    stderr=STDOUT    timeout=5 min
    ...    on_timeout=kill
    Should Be Equal As Integers    ${run.rc}    0    The fixture run failed:\n${run.stdout}    values=False
    ${masked}=    Result Files Should Not Contain Secret    ${results}    ${token}    token-run.xml    token-run.html
    Should Be True    ${masked} > 0    token-run.xml never says <secret>: was the token used at all?
    [Teardown]    Remove Test Tokens
