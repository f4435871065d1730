*** Settings ***
Documentation     Story: bad task configs. A task config the plugin's schema does not take is refused before
...               StartTask, as the client refuses the job; one the plugin cannot decode or use is refused by
...               StartTask with an error that says why; a refused start leaves nothing on the host.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:bad-task-config


*** Test Cases ***
Unknown Task Config Option Is Refused Naming It
    [Documentation]    An option the TaskConfigSchema does not have is refused naming it, before the plugin sees it.
    ${message}=    Run Keyword And Expect Error    *    Start Driver Task    unknown    jar_path=${JARS}/hello.jar
    ...    config=${{ {"no_such_option": True} }}
    Should Contain    ${message}    "no_such_option" is not expected here

Task Config Of The Wrong Type Is Refused Naming The Option
    [Documentation]    A value the schema's type cannot take (a list where a string goes) is refused with the
    ...    option's name, as the client converts a job's config to the schema's types.
    ${schema}=    Get Driver Task Config Schema
    ${strings}=    Evaluate    [name for name, kind in $schema.items() if kind.startswith("string")]
    Skip If    not $strings    The task config schema has no string option to give a wrong type
    ${message}=    Run Keyword And Expect Error    *    Start Driver Task    typed    jar_path=${JARS}/hello.jar
    ...    config=${{ {$strings[0]: ["a", "list"]} }}
    Should Contain    ${message}    ${strings}[0]

StartTask Refuses A Config It Cannot Decode And Leaves Nothing
    [Documentation]    StartTask with a task config that is no msgpack fails with the plugin's error, the same
    ...    plugin process answers afterwards, and nothing of the task is left.
    ${pid}=    Get Driver Plugin Pid
    ${before}=    Take Driver Snapshot
    Run Keyword And Expect Error    StartTask failed*    Start Driver Task    garbled    jar_path=${JARS}/hello.jar
    ...    raw_config=${{ b"\xc1\xc1" }}
    Plugin Should Still Answer    ${pid}
    Driver Should Not Have Leaked    ${before}

Missing JAR Is Refused Naming Its Path
    [Documentation]    crunjar checks the JAR before it creates a container: a missing one fails StartTask
    ...    with its path, and nothing is left.
    [Tags]    needs:crunjar-diagnostics
    ${before}=    Take Driver Snapshot
    ${message}=    Run Keyword And Expect Error    StartTask failed*    Start Driver Task    missing
    ...    jar_path=/nonexistent/sanity.jar
    Should Contain    ${message}    /nonexistent/sanity.jar
    Driver Should Not Have Leaked    ${before}

Corrupt JAR Is Refused Before The Container Starts
    [Documentation]    crunjar refuses a JAR that is no zip file with a message that says so.
    [Tags]    needs:crunjar-diagnostics
    ${message}=    Run Keyword And Expect Error    StartTask failed*    Start Driver Task    corrupt
    ...    jar_path=${FIXTURES}/corrupted.jar
    Should Match Regexp    ${message}    (?i)(zip|jar|corrupt)
