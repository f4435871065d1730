*** Settings ***
Documentation     Story: bad input. Each bad input a user may give fails with a message that says what to
...               fix, within a bound, and leaves nothing behind: no agent, run dir, process or container.

Library           OperatingSystem
Resource          ../../resources/scenarios.resource
Library           NomadServer    driver=crunjr    AS    MisspeltDriver
Library           NomadServer    plugin_dir=${NOEXEC_PLUGINS}    AS    NonExecutablePlugin
Library           NomadServer    nomad_bin=/bin/true    AS    NotNomad

Suite Setup       Prepare Bad Inputs
Suite Teardown    Clean Up Bad Inputs

Test Tags         area:framework    story:bad-input    needs:local-agents


*** Variables ***
${NOEXEC_PLUGINS}    ${TEMPDIR}/e2e-noexec-plugins-${{ os.getpid() }}


*** Test Cases ***
Misspelt Driver Name Fails Fast Naming The Drivers Nomad Has
    [Documentation]    A driver name no plugin reports fails once the node registered without it, not at the
    ...    timeout. From Nomad 1.10 on, the failure also quotes Nomad's warning about the plugin block.
    ${warns}=    Nomad Version Is At Least    1.10.0
    ${warning}=    Set Variable If    ${warns}    plugin not referenced in the agent configuration*    ${EMPTY}
    Bad Input Should Fail Clearly And Leave Nothing
    ...    20    *driver 'crunjr'*is not among its drivers*${warning}    MisspeltDriver.Start Nomad Server
    ...    name=misspelt-driver

Non-Executable Plugin Fails Fast Quoting Nomad's Warning
    [Documentation]    A plugin file without its execute bit is skipped by Nomad; the failure quotes Nomad's warning.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    20    *skipping un-executable file in plugin folder*
    ...    NonExecutablePlugin.Start Nomad Server    name=noexec-plugin

Binary That Is Not Nomad Is Named As Such
    [Documentation]    ``nomad version`` is asked first, so a wrong NOMAD_BIN is named before any agent starts.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    */bin/true is not a Nomad agent*    NotNomad.Start Nomad Server    name=not-nomad

Agent Setting Nomad Cannot Express Fails Before Anything Is Created
    [Documentation]    The configuration renders before the run dir exists: a value HCL cannot hold leaves no dir.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    *HCL has no null value*    Start Nomad Server    name=null-meta    meta=${{ {"rack": None} }}

Port Out Of Range Is Refused
    [Documentation]    A port no socket can bind is refused by name, before Nomad runs.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    *Port 'http' must be between 1 and 65535, not 70000*
    ...    Start Nomad Server    name=port-70000    ports=${{ {"http": 70000} }}

Negative Timeouts Are Refused
    [Documentation]    A negative timeout is a mistake, refused with a hint, in every keyword that waits.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    *A timeout cannot be negative*    Start Nomad Server    name=negative    timeout=-1s
    5    *A timeout cannot be negative*    Wait For Job Status    no-such-job    dead    timeout=-5s

Job Ids Nomad Would Refuse Are Refused At Submission
    [Documentation]    Whitespace in a job id is refused at submission, not rewritten behind the user's back.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    *holds whitespace or a control character*
    ...    Submit Job    java-batch    jar_path=${JARS}/hello.jar    job_id=two words    unique=${False}

Misspelt Template Variable Names The One Meant
    [Documentation]    A variable the template never reads is a typo: it fails, naming the one meant.
    [Template]    Bad Input Should Fail Clearly And Leave Nothing
    5    *has no variable 'memroy' (did you mean 'memory'?)*
    ...    Submit Job    java-batch    jar_path=${JARS}/hello.jar    memroy=${300}

Stop Job Returns Only Once The Task Has Stopped
    [Documentation]    The JVM of a stopped and purged service is gone when Stop Job returns, not seconds later.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait Until Task Log Contains    ${job}    heartbeat 1
    ${pid}=    Get Task Process Id    ${job}
    Stop Job    ${job}
    Process Should Not Be Running    ${pid}    Stop Job returned while the task's JVM still ran

Job Ids With URL Characters Work In Every Keyword
    [Documentation]    ``?``, ``#`` and ``/`` in a job id are quoted in every request: the job is found,
    ...    waited for, read and stopped, and its JVM does not outlive the stop.
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar    job_id=odd?id#with/chars
    Should Start With    ${job}    odd?id#with/chars-
    Wait Until Task Log Contains    ${job}    heartbeat 1
    ${pid}=    Get Task Process Id    ${job}
    Stop Job    ${job}
    Process Should Not Be Running    ${pid}
    Run Keyword And Expect Error    *does not exist*    Get Job Status    ${job}


*** Keywords ***
Bad Input Should Fail Clearly And Leave Nothing
    [Documentation]    Runs ``keyword`` with ``args`` and ``named``, expecting it to fail with a message matching
    ...    ``message`` (a glob pattern) within ``bound`` seconds, and checks nothing of it is left on the host.
    [Arguments]    ${bound}    ${message}    ${keyword}    @{args}    &{named}
    ${before}=    Take Resource Snapshot
    ${started}=    Evaluate    time.monotonic()    modules=time
    Run Keyword And Expect Error    ${message}    ${keyword}    @{args}    &{named}
    ${elapsed}=    Evaluate    time.monotonic() - ${started}    modules=time
    Should Be True    ${elapsed} < ${bound}    Failing took ${elapsed} s, more than ${bound} s
    Resources Should Not Have Leaked    ${before}
    ${root}=    Get Nomad Run Root
    IF    "name" in $named
        ${left}=    Evaluate    glob.glob($root + "/*/" + $named["name"])    modules=glob
        Should Be Empty    ${left}    The failed agent's run dir was left behind
    END

Prepare Bad Inputs
    [Documentation]    The shared agent, and a plugin dir holding the driver without its execute bit. The
    ...    libraries imported under other names are used only by their full names.
    Set Library Search Order    NomadServer
    Skip If Driver Lacks A Needed Capability    local-agents
    Start Shared Nomad Agent
    Create Directory    ${NOEXEC_PLUGINS}
    Copy File    ${CURDIR}/../../bin/plugins/nomad-driver-crunjar    ${NOEXEC_PLUGINS}/
    Evaluate    os.chmod($NOEXEC_PLUGINS + "/nomad-driver-crunjar", 0o644)    modules=os

Clean Up Bad Inputs
    [Documentation]    Stops what is left and removes the plugin dir of the suite.
    Stop Jobs And Check For Leaks
    Remove Directory    ${NOEXEC_PLUGINS}    recursive=${True}
