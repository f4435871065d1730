*** Settings ***
Documentation    Story: suites attached to an external cluster with ACLs (``make test-external``). The run's
...              jobs live in a namespace of its own; a token limited to that namespace runs jobs there and
...              nowhere else, and a token without the right to submit gets a permission error that says
...              what is missing. The tokens and policies the tests create are removed after each test.

Resource         ../../resources/external.resource

Suite Setup      Attach The Run To The Cluster

Test Tags        area:external    story:external-cluster    needs:external-cluster


*** Test Cases ***
Jobs Run In The Run's Own Namespace
    [Documentation]    The attachment's namespace is a new one, not ``default``, and its jobs are listed there.
    ${namespace}=    Get Nomad Namespace
    Should Start With    ${namespace}    e2e-
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    ${response}=    GET On Session    nomad    /v1/job/${job}    expected_status=200
    Should Be Equal    ${response.json()}[Namespace]    ${namespace}

A Token Limited To The Test Namespace Runs Jobs There And Nowhere Else
    [Documentation]    With a policy that allows writing only the test namespace, a job runs and its output is read;
    ...    the ``default`` namespace is out of reach.
    ${namespace}=    Get Nomad Namespace
    ${token}=    Create Test Token    ${namespace}    write
    Start Nomad Server    name=limited    token=${token}    namespace=${namespace}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    agent=limited
    Wait For Job To Complete Successfully    ${job}    agent=limited
    Task Log Should Contain    ${job}    Hello    agent=limited
    GET On Session    limited    /v1/jobs    params=namespace=default    expected_status=403
    [Teardown]    Remove Test Tokens

A Token Without Submit Rights Gets A Clear Permission Error
    [Documentation]    A read-only token attaches, but submitting is refused with the namespace and the missing
    ...    capability named, at once.
    ${namespace}=    Get Nomad Namespace
    ${token}=    Create Test Token    ${namespace}    read
    Start Nomad Server    name=reader    token=${token}    namespace=${namespace}
    Run Keyword And Expect Error
    ...    Permission denied:*register job '*' in namespace '${namespace}'*submit-job*
    ...    Submit Job    java-batch    jar_path=${JARS}/hello.jar    agent=reader
    [Teardown]    Remove Test Tokens
