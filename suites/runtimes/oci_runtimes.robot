*** Settings ***
Documentation     Story: runtime matrix, OCI runtimes. The driver's ``runtime`` option takes crun (the
...               default), runc (Debian's) or a path. The same container, scenario and signal checks
...               pass on both, each on an agent of its own (``crun`` and ``runc``), and the Java
...               versions run on runc as they do on crun. The container options a job can set
...               (``writable_rootfs``, ``seccomp``, ``allow_privilege_escalation``, ``cap_add`` and
...               ``cap_drop``, ``cpu_hard_limit``) are proven from inside the container on both.

Resource          runtimes.resource

Suite Setup       Start One Agent Per Runtime
Suite Teardown    Stop Jobs And Check For Leaks
Test Template     Check Should Pass In Runtime

Test Tags         area:runtimes    story:runtime-matrix    needs:oci-runtimes


*** Test Cases ***    RUNTIME    CHECK    JAVA
Hello In crun    crun    Hello Should Run
Hello In runc    runc    Hello Should Run
Hello On Java 11 In runc    runc    Hello Should Run    11
Hello On Java 17 In runc    runc    Hello Should Run    17
Hello On Java 21 In runc    runc    Hello Should Run    21
Hello On Java 25 In runc    runc    Hello Should Run    25
Java 21 Class Files Are Refused By Java 11 In runc    runc    Java 21 Class Files Should Be Refused    11
Java 21 Class Files Are Refused By Java 17 In runc    runc    Java 21 Class Files Should Be Refused    17
Java 21 Class Files Run On Java 21 In runc    runc    Java 21 Class Files Should Run    21
Echo In runc    runc    Echo Should Run
Isolation Holds In crun    crun    Isolation Should Hold
Isolation Holds In runc    runc    Isolation Should Hold
Cgroup Limits Are Visible In crun    crun    Cgroup Limits Should Be Visible
Cgroup Limits Are Visible In runc    runc    Cgroup Limits Should Be Visible
Exec Runs In The Container In crun    crun    Exec Should Run In The Container
Exec Runs In The Container In runc    runc    Exec Should Run In The Container
Default Container Is Locked Down In crun    crun    Default Container Should Be Locked Down
Default Container Is Locked Down In runc    runc    Default Container Should Be Locked Down
Container Options Apply In crun    crun    Container Options Should Apply
Container Options Apply In runc    runc    Container Options Should Apply
Capabilities Follow The Job In crun    crun    Capabilities Should Follow The Job
Capabilities Follow The Job In runc    runc    Capabilities Should Follow The Job
Signals Reach The JVM In crun    crun    Signals Should Reach The JVM
Signals Reach The JVM In runc    runc    Signals Should Reach The JVM
Graceful Shutdown In runc    runc    Graceful Shutdown Should Complete
Memory Limit In runc    runc    Memory Limit Should Hold
Seccomp Denies A Namespace Change In The JVM In crun    crun    Seccomp Should Deny A Namespace Change In The JVM
Fingerprint Names The Runtime
    [Documentation]    Each agent's driver fingerprints the runtime it was given: its name, resolved path
    ...    and version, as ``<runtime> --version`` reports them.
    [Tags]    needs:crunjar-diagnostics
    [Template]    NONE
    FOR    ${runtime}    IN    crun    runc
        ${driver}=    Get Driver Info    agent=${runtime}
        Should Be Equal    ${driver}[Attributes][driver.crunjar.runtime]    ${runtime}
        ${path}=    Evaluate    shutil.which($runtime)    modules=shutil
        Should Be Equal    ${driver}[Attributes][driver.crunjar.runtime_path]    ${path}
        ${result}=    Run Process    ${path}    --version
        Should Contain    ${result.stdout}    ${runtime} version ${driver}[Attributes][driver.crunjar.runtime_version]
    END


*** Keywords ***
Start One Agent Per Runtime
    [Documentation]    Suite setup: skips the suite for a driver without the ``runtime`` option, else
    ...    starts an agent named after each runtime, with that runtime.
    Skip If Driver Lacks A Needed Capability    oci-runtimes
    Start Nomad Server    name=crun
    Start Nomad Server    name=runc    plugin_config=${{ {"runtime": "runc"} }}

Check Should Pass In Runtime
    [Documentation]    Template of the runtime matrix: runs ``check`` (a keyword of runtimes.resource) on the
    ...    agent of ``runtime``, with ``java_version`` when given, tagging the test ``runtime:<name>``
    ...    (and ``java:<version>``).
    [Arguments]    ${runtime}    ${check}    ${java_version}=${None}
    Set Tags    runtime:${runtime}
    IF    $java_version
        Check Should Pass On Java    ${check}    ${java_version}    agent=${runtime}
    ELSE
        Run Keyword    ${check}    agent=${runtime}
    END
