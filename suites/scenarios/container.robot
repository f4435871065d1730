*** Settings ***
Documentation     Story: container execution. The JVM of a task runs in a crun container: its own pid
...               namespace, a cgroup below the agent's cgroup parent, a read-only root with a private
...               /tmp, the unprivileged user nobody, no new privileges and a reduced capability set.
...               The isolation probe reports what it sees from inside once; each test checks one
...               property of that report.

Resource          ../../resources/scenarios.resource
Resource          crunjar.resource

Suite Setup       Run Isolation Probe
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:container    story:container-execution


*** Variables ***
# Docker's default capabilities without NET_RAW, the driver's default allow_caps, by number (capability.h).
@{DEFAULT_CAPS}     0    1    3    4    5    6    7    8    10    18    27    29    31
${CAP_NET_RAW}      13
${CAP_SYS_ADMIN}    21
${NOBODY}           65534


*** Test Cases ***
JVM Is Process 1 Of Its Own Pid Namespace
    [Documentation]    The JVM is pid 1 and sees no other process: the host's are hidden.
    [Tags]    needs:isolation
    Should Be Equal As Integers    ${PROBE}[pid]    1
    Should Be Equal As Integers    ${PROBE}[visible-processes]    1

Container Cgroup Lies Below The Agent's Cgroup Parent
    [Documentation]    The JVM's cgroup is the task's container cgroup under the cgroup parent this agent
    ...    gave the driver, so limits and accounting apply to it alone.
    [Tags]    needs:crunjar-diagnostics    needs:local-agents
    ${info}=    Get Nomad Agent Info
    ${alloc}=    Get Allocation    ${PROBE_JOB}
    Should Contain    ${PROBE}[cgroup]    /${info}[cgroup_parent]/crunjar-${alloc}[ID]-app

Root Filesystem Is Read Only
    [Documentation]    Nothing can be written to the container's root.
    [Tags]    needs:isolation
    Should Be Equal    ${PROBE}[root-writable]    false

Private Tmp Is Writable
    [Documentation]    /tmp is a writable tmpfs of the container's own.
    Should Be Equal    ${PROBE}[tmp-writable]    true

Task Runs As Nobody
    [Documentation]    The JVM runs as the driver's default user nobody: real, effective, saved and
    ...    filesystem uid and gid are all 65534.
    [Tags]    needs:isolation
    Should Be Equal    ${PROBE}[user]    nobody
    Should Be Equal    ${PROBE}[uid]    ${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}
    Should Be Equal    ${PROBE}[gid]    ${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}

No New Privileges Can Be Gained
    [Documentation]    The no_new_privs flag is set: setuid binaries cannot raise privileges.
    [Tags]    needs:isolation
    Should Be Equal As Integers    ${PROBE}[nonewprivs]    1

Capabilities Are Reduced To The Default Set
    [Documentation]    The unprivileged JVM has no effective capability, and its bounding set is exactly
    ...    the driver's default set: without CAP_SYS_ADMIN, CAP_NET_RAW or any other.
    [Tags]    needs:isolation
    ${expected}=    Evaluate    format(sum(1 << int(cap) for cap in $DEFAULT_CAPS), "016x")
    Should Be Equal    ${PROBE}[capeff]    0000000000000000
    Should Be Equal    ${PROBE}[capbnd]    ${expected}
    ${bounding}=    Convert To Integer    ${PROBE}[capbnd]    16
    Should Be Equal As Integers    ${{ $bounding & (1 << ${CAP_SYS_ADMIN}) }}    0
    Should Be Equal As Integers    ${{ $bounding & (1 << ${CAP_NET_RAW}) }}    0

Task Directories Are Writable As Designed
    [Documentation]    The task's own ``local/`` and the shared ``alloc/`` directory are writable by the
    ...    task user, unlike the rest of the file system (the probe looks at the container's paths).
    [Tags]    needs:isolation
    Should Be Equal    ${PROBE}[local-writable]    true
    Should Be Equal    ${PROBE}[alloc-writable]    true

JVM Comes From The Driver's Default JDK
    [Documentation]    The JVM is the default JDK the driver fingerprinted, bound into the container at
    ...    its host path.
    [Tags]    needs:crunjar-diagnostics
    ${home}=    crunjar.Get Default Java Home
    Should Be Equal    ${PROBE}[java-home]    ${home}


*** Keywords ***
Run Isolation Probe
    [Documentation]    Runs the isolation probe once on the suite's agent and keeps its report
    ...    (``${PROBE}``) and job (``${PROBE_JOB}``) for the tests.
    Start Shared Nomad Agent
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/isolation-probe.jar
    Wait For Job To Complete Successfully    ${job}
    ${output}=    Get Task Logs    ${job}
    ${report}=    Parse Key Value Report    ${output}
    # One probe run serves every test of the suite: what it saw from inside does not change.
    VAR    ${PROBE}=    ${report}    scope=SUITE    # robocop: off=VAR05
    VAR    ${PROBE_JOB}=    ${job}    scope=SUITE    # robocop: off=VAR05
