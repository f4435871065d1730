*** Settings ***
Documentation     Story: runtime matrix, runtime errors. A runtime that cannot be run makes the driver
...               unhealthy saying why; a runtime that fails to create the container and a JDK whose
...               ``java`` passes the fingerprint but fails in the container each fail the task with
...               that reason, at once. Nothing is left behind either way.

Resource          runtimes.resource

Suite Setup       Create Scratch Directory
Suite Teardown    Remove Directory    ${SCRATCH}    recursive=${True}

Test Tags         area:runtimes    story:runtime-matrix    needs:oci-runtimes    needs:local-agents


*** Test Cases ***
Missing Runtime Binary Makes The Driver Unhealthy
    [Documentation]    ``runtime`` naming a file that does not exist leaves the driver unhealthy with a
    ...    message naming the path, why it is unusable and the setting to fix.
    ${agent}=    Start Nomad Server    name=no-runtime    plugin_config=${{ {"runtime": "/nonexistent/runc"} }}
    ...    wait_for_driver=${False}
    ${health}=    Driver Should Not Be Healthy    agent=${agent}
    Should Contain    ${health}
    ...    OCI runtime "/nonexistent/runc" is not usable (stat /nonexistent/runc: no such file or directory
    Should Contain    ${health}    set runtime in the crunjar plugin config to an executable
    Resources Should Not Have Leaked    agent=${agent}
    [Teardown]    Stop Agent Of Test    no-runtime

Runtime That Is Not Executable Makes The Driver Unhealthy
    [Documentation]    ``runtime`` naming a file without execute permission leaves the driver unhealthy
    ...    with "permission denied" and the path.
    Create File    ${SCRATCH}/runc    \#!/bin/sh\nexit 0\n
    ${agent}=    Start Nomad Server    name=runtime-not-executable
    ...    plugin_config=${{ {"runtime": $SCRATCH + "/runc"} }}    wait_for_driver=${False}
    ${health}=    Driver Should Not Be Healthy    agent=${agent}
    Should Contain    ${health}    OCI runtime "${SCRATCH}/runc" is not usable (permission denied
    Resources Should Not Have Leaked    agent=${agent}
    [Teardown]    Stop Agent Of Test    runtime-not-executable

Runtime Failing At Create Fails The Task With Its Message
    [Documentation]    A runtime that works for the fingerprint but exits non-zero at ``create`` (logging
    ...    why, as crun and runc do) fails the task with a Driver Failure quoting its exit status and
    ...    message, without restarting it; no container, bundle or cgroup is left.
    ${runtime}=    Create Runtime That Refuses To Create
    ${agent}=    Start Nomad Server    name=refusing-runtime    plugin_config=${{ {"runtime": $runtime} }}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    agent=${agent}
    Task Should Fail To Start    ${job}
    ...    refusing-runtime create failed (exit status 3): cannot create container: no space left for it
    ...    agent=${agent}
    [Teardown]    Stop Agent Of Test    refusing-runtime

Bogus Cgroup Parent Makes The Driver Unhealthy
    [Documentation]    A ``cgroup_parent`` under which no cgroup can be created (here below a cgroup's
    ...    ``cgroup.procs`` file, in every hierarchy, as a missing controller would) leaves the driver
    ...    unhealthy at its first fingerprint, naming the cgroup parent, the runtime's error and the
    ...    setting to fix; no cgroup or container is left.
    VAR    ${parent}=    cgroup.procs/crunjar-bogus
    ${agent}=    Start Nomad Server    name=bogus-cgroup    plugin_config=${{ {"cgroup_parent": $parent} }}
    ...    wait_for_driver=${False}
    ${health}=    Driver Should Not Be Healthy    agent=${agent}
    Should Contain    ${health}    cgroup_parent "${parent}" is not usable: ${{ shutil.which("crun") }} cannot create
    Should Contain    ${health}    /sys/fs/cgroup/    # the hierarchy and directory crun tried
    Should Contain    ${health}    Not a directory
    Should Contain    ${health}    Set cgroup_parent in the crunjar plugin config
    Resources Should Not Have Leaked    agent=${agent}
    [Teardown]    Stop Agent Of Test    bogus-cgroup

JDK Whose Java Fails In The Container Fails The Task
    [Documentation]    A JDK whose ``java -version`` works on the host but whose JVM cannot start makes the
    ...    task fail with the JVM's exit code 1 and its own error on stderr, once, leaving nothing.
    ${fake}=    Create JDK That Cannot Start A JVM    99.0.1
    ${agent}=    Start Nomad Server    name=failing-jdk    plugin_config=${{ {"java_runtimes": [$fake]} }}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    config=${{ {"java_version": 99} }}
    ...    agent=${agent}
    Wait For Task State    ${job}    dead    failed=${True}    agent=${agent}
    Task Events Should Contain    ${job}    Terminated    Exit Code: 1    agent=${agent}
    Task Log Should Contain    ${job}    Error: Could not create the Java Virtual Machine.    stream=stderr
    ...    agent=${agent}
    Task Log Should Not Contain    ${job}    Hello from crunjar!    agent=${agent}
    Resources Should Not Have Leaked    agent=${agent}
    [Teardown]    Stop Agent Of Test    failing-jdk


*** Keywords ***
Create Scratch Directory
    [Documentation]    Suite setup: a directory for the suite's fake runtimes and JDKs, readable by the task
    ...    user (``${SCRATCH}``), removed by the suite teardown whatever happened.
    ${dir}=    Evaluate    tempfile.mkdtemp(prefix="runtime-errors-")    modules=tempfile
    Evaluate    os.chmod($dir, 0o755)    modules=os
    VAR    ${SCRATCH}=    ${dir}    scope=SUITE    # robocop: off=VAR05

Create Runtime That Refuses To Create
    [Documentation]    An OCI runtime named ``refusing-runtime`` that is crun for everything but
    ...    ``create``, where it logs an error to its ``--log`` file and exits 3, as a runtime out of
    ...    resources does. Returns its path.
    ${crun}=    Evaluate    shutil.which("crun")    modules=shutil
    ${script}=    Catenate    SEPARATOR=\n
    ...    \#!/bin/sh
    ...    for arg in "$@"; do
    ...    \ \ if [ "$prev" = --log ]; then log=$arg; fi
    ...    \ \ if [ "$arg" = create ]; then
    ...    \ \ \ \ echo '{"level":"error","msg":"cannot create container: no space left for it"}' >> "$log"
    ...    \ \ \ \ exit 3
    ...    \ \ fi
    ...    \ \ prev=$arg
    ...    done
    ...    exec ${crun} "$@"
    Create File    ${SCRATCH}/refusing-runtime    ${script}\n
    Evaluate    os.chmod($SCRATCH + "/refusing-runtime", 0o755)    modules=os
    RETURN    ${SCRATCH}/refusing-runtime

Create JDK That Cannot Start A JVM
    [Documentation]    A JDK home whose ``bin/java`` reports ``version`` to ``-version`` but fails to start
    ...    any program with the JVM's own error, as a JDK missing a library in the container does.
    ...    Readable by the task user. Returns its path.
    [Arguments]    ${version}
    VAR    ${home}=    ${SCRATCH}/jdk-${version}
    ${script}=    Catenate    SEPARATOR=\n
    ...    \#!/bin/sh
    ...    if [ "$1" = -version ]; then echo 'openjdk version "${version}"' >&2; exit 0; fi
    ...    echo 'Error: Could not create the Java Virtual Machine.' >&2
    ...    exit 1
    Create File    ${home}/bin/java    ${script}\n
    Evaluate    os.chmod($home + "/bin/java", 0o755)    modules=os
    RETURN    ${home}
