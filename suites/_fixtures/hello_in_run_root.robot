*** Settings ***
Documentation    Run by runtimes/host_layouts.robot in a run root on a file system layout of its own:
...              an agent whose data dir is under that run root runs the hello JAR.

Library          OperatingSystem
Resource         ../../resources/common.resource


*** Variables ***
# The file system (df's first column) the agent's alloc dir must be on; ${None} skips that check.
${VOLUME}          ${None}
# Read the task's stdout from its log file in the alloc dir instead of through Nomad's API.
${LOGS_ON_DISK}    ${False}


*** Test Cases ***
Hello Runs With The Data Dir In The Run Root
    [Documentation]    Fixture: not a specification, see runtimes/host_layouts.robot.
    Start Nomad Server    name=layout
    ${node}=    Get Nomad Node
    IF    $VOLUME is not None
        Should Be Equal    ${node}[Attributes][unique.storage.volume]    ${VOLUME}
    END
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    IF    ${LOGS_ON_DISK}
        ${info}=    Get Nomad Agent Info    layout
        ${alloc}=    Get Allocation    ${job}
        ${log}=    Get File    ${info}[run_dir]/data/alloc/${alloc}[ID]/alloc/logs/app.stdout.0
        Should Contain    ${log}    Hello from crunjar!
    ELSE
        Task Log Should Contain    ${job}    Hello from crunjar!
    END
    [Teardown]    Stop Nomad Server    layout
