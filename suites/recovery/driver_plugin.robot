*** Settings ***
Documentation     Story: driver plugin crashes. Nomad relaunches a task driver plugin that died, and the
...               new plugin recovers the tasks the old one ran: same JVM, no restart, logs flowing, and
...               the real exit code when the task ends later.

Resource          ../../resources/recovery.resource

Suite Setup       Start Recovery Agents
Suite Teardown    Stop Recovery Agents After Leak Check
Test Teardown     Recover After Test

Test Tags         story:recovery    area:recovery    needs:local-agents


*** Variables ***
# The sleeper runs long enough to outlive the crash and its checks, then exits with a code of its own.
${RUN_SECONDS}    15
${EXIT_CODE}      42


*** Test Cases ***
Running Task Survives A Driver Plugin Crash And Ends With Its Own Exit Code
    [Documentation]    SIGKILL of the plugin under a running JAR: Nomad notices (agent log, driver health
    ...    event) and relaunches the plugin, RecoverTask reattaches to the same JVM, and the JAR's own exit
    ...    code still reaches Nomad when it ends.
    ${job}=    Start Sleeper    ${RUN_SECONDS}    ${EXIT_CODE}
    ${pid}=    Get Task Process Id    ${job}
    ${plugin}=    Kill Driver Plugin
    ${noticed}=    Wait Until Nomad Notices Driver Plugin Exit
    Should Contain    ${noticed}    signal: killed
    Task Should Have Been Recovered    ${job}    ${pid}
    Wait For Driver Plugin Restart    ${plugin}
    Wait Until Node Reports Driver Event    failed to fingerprint driver
    Sleeper Should End With Its Exit Code    ${job}    ${EXIT_CODE}    timeout=${RUN_SECONDS}s

Driver Plugin Killed While Idle Is Relaunched And Runs New Jobs
    [Documentation]    With no task running, a killed plugin is relaunched, the driver is healthy again on
    ...    the node, and a job submitted afterwards runs normally.
    ${plugin}=    Kill Driver Plugin
    Wait Until Nomad Notices Driver Plugin Exit
    ${relaunched}=    Wait For Driver Plugin Restart    ${plugin}
    Should Not Be Equal As Integers    ${relaunched}    ${plugin}
    Driver Should Be Healthy
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    Hello from crunjar!
