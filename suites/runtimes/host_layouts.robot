*** Settings ***
Documentation     Story: runtime matrix, host file system layouts. The hello JAR runs and its output is
...               read back with the agent's data dir on a tmpfs and under a path with a symlinked
...               component (each in a fixture run whose run root is there), and with its JAR given by
...               host path from a read-only bind mount. The JDK layouts (a symlinked home, a home
...               with a space) are in java_versions.robot.

Resource          runtimes.resource
Library           ../libraries/RunRoots.py

Suite Setup       Start Shared Nomad Agent
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:runtimes    story:runtime-matrix    runtime:crun    needs:local-agents


*** Test Cases ***
Data Dir On A Tmpfs Runs Hello
    [Documentation]    An agent whose run root (and so its data dir and alloc dirs) is on a tmpfs the test
    ...    mounts runs hello, and Nomad sees its alloc dir on that tmpfs; nothing is left in it.
    [Tags]    layout:tmpfs
    ${mount}=    Make Scratch Directory    layout-tmpfs-
    Run Checked    mount    -t    tmpfs    -o    size\=512m,mode\=755    crunjar-layout    ${mount}
    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/hello_in_run_root.robot    --variable    VOLUME:crunjar-layout
    ...    run_root=${mount}/run
    RunRoots.Run Root Should Be Clean    ${mount}/run
    [Teardown]    Unmount And Remove    ${mount}

Data Dir Under A Symlinked Path Runs Hello
    [Documentation]    An agent whose run root is reached through a symlink (the data dir path has a
    ...    symlinked component) runs hello, whose output is read from the alloc dir through the link:
    ...    Nomad's log API refuses such an alloc dir ("Path escapes the alloc directory"), the task
    ...    does not. Nothing is left behind the link.
    [Tags]    layout:symlink
    ${dir}=    Make Scratch Directory    layout-link-
    Create Directory    ${dir}/real
    Evaluate    os.symlink($dir + "/real", $dir + "/link")    modules=os
    RunRoots.Run Fixture Suite    ${CURDIR}/../_fixtures/hello_in_run_root.robot    --variable    LOGS_ON_DISK:True
    ...    run_root=${dir}/link/run
    RunRoots.Run Root Should Be Clean    ${dir}/link/run
    [Teardown]    Remove Directory    ${dir}    recursive=${True}

JAR From A Read-Only Bind Mount Runs
    [Documentation]    ``jar_path`` naming the hello JAR in a directory bind-mounted read-only on the host
    ...    runs the task, and the JAR is still unwritable there.
    [Tags]    layout:read-only-bind
    ${dir}=    Make Scratch Directory    layout-ro-
    Copy File    ${JARS}/hello.jar    ${dir}/jars/hello.jar
    Bind Mount Read-Only    ${dir}/jars    ${dir}/mnt
    ${job}=    Submit Job    java-batch    jar_path=${dir}/mnt/hello.jar
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    Hello from crunjar!
    ${writable}=    Evaluate    os.access($dir + "/mnt/hello.jar", os.W_OK)    modules=os
    Should Not Be True    ${writable}    The bind mount is writable
    [Teardown]    Unmount And Remove    ${dir}/mnt    ${dir}


*** Keywords ***
Make Scratch Directory
    [Documentation]    A fresh directory in the temp dir named ``prefix``..., readable by the task user.
    [Arguments]    ${prefix}
    ${dir}=    Evaluate    tempfile.mkdtemp(prefix=$prefix)    modules=tempfile
    Evaluate    os.chmod($dir, 0o755)    modules=os
    RETURN    ${dir}

Run Checked
    [Documentation]    Runs a command (bounded by 30 s) and fails with its stderr unless it exits 0.
    [Arguments]    @{command}
    ${result}=    Run Process    @{command}    timeout=30s    on_timeout=kill
    Should Be Equal As Integers    ${result.rc}    0    ${command}: ${result.stderr}

Bind Mount Read-Only
    [Documentation]    Bind-mounts directory ``source`` read-only at ``target`` (created here).
    [Arguments]    ${source}    ${target}
    Create Directory    ${target}
    Run Checked    mount    --bind    ${source}    ${target}
    Run Checked    mount    -o    remount,bind,ro    ${target}

Unmount And Remove
    [Documentation]    Teardown: unmounts ``mount`` if it is mounted, then removes ``dir`` (default: the
    ...    mount point itself) and everything in it.
    [Arguments]    ${mount}    ${dir}=${mount}
    ${result}=    Run Process    mountpoint    -q    ${mount}
    IF    $result.rc == 0    Run Checked    umount    ${mount}
    Remove Directory    ${dir}    recursive=${True}
