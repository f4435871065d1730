*** Settings ***
Documentation    Story: interrupted runs. A robot or pabot run stopped by one Ctrl-C (SIGINT) runs its
...              teardowns and leaves nothing behind; so does robot stopped harder by a second SIGINT.
...              SIGKILL leaves agents and tasks running, and the next run's first agent start sweeps
...              them. Each interrupted run is a fixture suite in robot or pabot processes of its own.

Library          Collections
Library          OperatingSystem
Library          Process
Resource         ../../resources/common.resource
Library          ../libraries/RunRoots.py

Test Tags        story:interruption    area:agents


*** Variables ***
${FIXTURE}             ${{ os.path.normpath(r"${CURDIR}/../_fixtures/interrupted_run.robot") }}
${NEXT_RUN}            ${{ os.path.normpath(r"${CURDIR}/../_fixtures/next_run.robot") }}
${FIRST_TEST}          First Test Interrupted While Its Job Runs
${SECOND_TEST}         Second Test Interrupted While Its Job Runs
${READY_TIMEOUT}       2 min
${EXIT_TIMEOUT}        1 min
# robot exits with its count of failed tests after a graceful stop, with 253 after a forced one;
# pabot with 253 when Ctrl-C stopped it.
${RC_ONE_FAILED}       1
${RC_FORCED}           253
${RC_PABOT_STOPPED}    253
# Longer than a robot process of the fixture takes to run its job: about 5 s, 15 s on a loaded host.
${PROCESS_TIMEOUT}     25


*** Test Cases ***
One SIGINT Stops The Run After Its Teardowns And Leaves Nothing
    [Documentation]    Like one Ctrl-C: the running test fails, its teardown and the listeners run, and the
    ...    agent, its task and all they held are gone when robot exits.
    ${run}=    Start Interrupted Run
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    ${output}=    Run Should Exit    ${run}    ${RC_ONE_FAILED}
    Should Contain    ${output}    Teardown of '${FIRST_TEST}' ends
    Should Contain    ${output}    Execution terminated by signal
    What The Tests Held Should Be Gone    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}

A Second SIGINT Skips The Rest Of The Teardown And The Libraries Still Leave Nothing
    [Documentation]    A second Ctrl-C while a teardown runs ends robot at once, the rest of the teardown
    ...    skipped; the libraries' listener still stops every agent on the way out (robot closes its
    ...    listeners even then), so the agent, its task and all they held are gone when robot exits.
    ${run}=    Start Interrupted Run    --variable    TEARDOWN_WAITS:True
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    Wait Until Teardowns Are Under Way    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGINT    ${run}[process]
    ${output}=    Run Should Exit    ${run}    ${RC_FORCED}
    Should Contain    ${output}    Execution forcefully stopped
    Should Not Contain    ${output}    Teardown of '${FIRST_TEST}' ends
    What The Tests Held Should Be Gone    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}

SIGKILL Leaves The Run's Agent Running Until The Next Run Sweeps It
    [Documentation]    SIGKILL runs no teardown and no listener: the next run cleans up after it.
    ${run}=    Start Interrupted Run
    ${state}=    Wait Until Test Runs Its Job    ${run}    ${FIRST_TEST}
    Send Signal To Process    SIGKILL    ${run}[process]
    Run Should Exit    ${run}    -9
    What The Tests Held Should Still Be Held    ${run}    ${state}
    Next Run Should Sweep Everything    ${run}    ${state}
    [Teardown]    Remove Interrupted Run    ${run}

SIGINT To A Pabot Run Stops Each Of Its Processes And Leaves Nothing
    [Documentation]    Ctrl-C in the terminal of a pabot run reaches pabot alone (pabot starts each robot in a
    ...    session of its own), and pabot stops each robot's process tree: the agents first, then robot
    ...    (SIGTERM, and SIGKILL 5 s later). Each test fails, its teardown runs, and the libraries stop
    ...    what is left of its agents before robot exits: no agent or task of either process is left.
    ...    What each robot reports is checked, not pabot's summary: pabot 5 then rewrites each robot's
    ...    output.xml with a dry run it gives 3 s, which a loaded host can exceed (pabot counts no test).
    ${run}=    Start Interrupted Pabot Run
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    Send Signal To Process    SIGINT    ${run}[process]    group=${True}
    Run Should Exit    ${run}    ${RC_PABOT_STOPPED}
    ${robots}=    Console Output Of Pabot's Robot Processes    ${run}
    Should Contain X Times    ${robots}    1 test, 0 passed, 1 failed    2
    Should Contain    ${robots}    Teardown of '${FIRST_TEST}' runs
    Should Contain    ${robots}    Teardown of '${SECOND_TEST}' runs
    What The Tests Held Should Be Gone    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}

A Pabot Process Stopped At Its Timeout Leaves Nothing
    [Documentation]    pabot's ``--processtimeout`` stops a robot process the way Ctrl-C does, its agents
    ...    first: each test fails and the libraries stop what is left of its agents before robot exits.
    ...    As after Ctrl-C, each robot's own report is checked, not pabot's summary.
    ${run}=    Start Interrupted Pabot Run    --processtimeout    ${PROCESS_TIMEOUT}
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    ${output}=    Run Should Exit    ${run}
    Should Contain X Times    ${output}    killed due to exceeding the maximum timeout    2
    ${robots}=    Console Output Of Pabot's Robot Processes    ${run}
    Should Contain X Times    ${robots}    1 test, 0 passed, 1 failed    2
    What The Tests Held Should Be Gone    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}

Killing A Pabot Run Leaves Its Agents To The Next Run's Sweep
    [Documentation]    SIGKILL of pabot and the robots it runs, as a CI runner stops a job (pabot's process
    ...    group and its children: each robot has a session of its own), leaves both processes' agents
    ...    and tasks; the next run sweeps them all.
    ${run}=    Start Interrupted Pabot Run
    @{states}=    Wait Until Tests Run Their Jobs    ${run}    ${FIRST_TEST}    ${SECOND_TEST}
    ${pid}=    Get Process Id    ${run}[process]
    RunRoots.Kill Process And Its Children    ${pid}
    Run Should Exit    ${run}    -9
    What The Tests Held Should Still Be Held    ${run}    @{states}
    Next Run Should Sweep Everything    ${run}    @{states}
    [Teardown]    Remove Interrupted Run    ${run}


*** Keywords ***
Start Interrupted Run
    [Documentation]    Starts the first test of the fixture in a robot process and run root of its own.
    [Arguments]    @{options}
    VAR    ${ready_dir}=    ${TEMPDIR}/e2e-interrupted-${{ uuid.uuid4().hex[:8] }}
    Create Directory    ${ready_dir}
    ${process}    ${run_root}=    RunRoots.Start Fixture Suite    ${FIXTURE}    --test    ${FIRST_TEST}
    ...    --variable    READY_DIR:${ready_dir}    @{options}
    VAR    &{run}=    process=${process}    run_root=${run_root}    ready_dir=${ready_dir}    output=${run_root}.out
    RETURN    ${run}

Start Interrupted Pabot Run
    [Documentation]    Starts both tests of the fixture with pabot, one robot process each, in a run root of
    ...    their own. Its results go to a temp dir, not below ``${OUTPUT DIR}``: an outer pabot run
    ...    merges every output.xml below its own results, a nested run's too.
    [Arguments]    @{options}
    VAR    ${id}=    ${{ uuid.uuid4().hex[:8] }}
    VAR    ${ready_dir}=    ${TEMPDIR}/e2e-interrupted-${id}
    VAR    ${run_root}=    ${TEMPDIR}/e2e-fixture-${id}
    VAR    ${pabot_dir}=    ${TEMPDIR}/e2e-pabot-${id}
    Create Directory    ${ready_dir}
    VAR    ${bin}=    ${{ os.path.dirname(sys.executable) }}
    # pabot starts `robot` from PATH; its .pabotsuitenames goes to its working directory.
    # No PabotLib: its remote server would take the port of the PabotLib of a pabot run of this suite.
    ${process}=    Start Process    ${bin}/pabot    --processes    2    --testlevelsplit    --no-pabotlib
    ...    --outputdir    ${pabot_dir}    --report    NONE    --log    NONE
    ...    --variable    READY_DIR:${ready_dir}    @{options}    ${FIXTURE}
    ...    cwd=${ready_dir}    stdout=${run_root}.out    stderr=STDOUT
    ...    env:NOMAD_E2E_RUN_ROOT=${run_root}    env:PATH=${bin}:%{PATH}
    VAR    &{run}=    process=${process}    run_root=${run_root}    ready_dir=${ready_dir}    output=${run_root}.out
    ...    pabot_dir=${pabot_dir}
    RETURN    ${run}

Console Output Of Pabot's Robot Processes
    [Documentation]    What the robot processes of a pabot run printed (pabot keeps it in files of its own).
    [Arguments]    ${run}
    ${files}=    Evaluate    sorted(pathlib.Path($run["pabot_dir"]).glob("pabot_results/*/robot_std*.out"))
    ${output}=    Evaluate    "".join(path.read_text() for path in $files)
    Log    ${output}
    RETURN    ${output}

Wait Until Test Runs Its Job
    [Documentation]    Waits until ``${test}`` of the run has its job running; returns what it wrote then: the
    ...    agent's info and a resource snapshot taken before the job.
    [Arguments]    ${run}    ${test}
    Wait Until Created    ${run}[ready_dir]/${test}.json    timeout=${READY_TIMEOUT}
    ${state}=    Get File    ${run}[ready_dir]/${test}.json
    RETURN    ${{ json.loads($state) }}

Wait Until Tests Run Their Jobs
    [Documentation]    `Wait Until Test Runs Its Job` for each of ``tests``; returns their states in order.
    [Arguments]    ${run}    @{tests}
    VAR    @{states}=    @{EMPTY}
    FOR    ${test}    IN    @{tests}
        ${state}=    Wait Until Test Runs Its Job    ${run}    ${test}
        Append To List    ${states}    ${state}
    END
    RETURN    ${states}

Run Should Exit
    [Documentation]    Waits for the run's process to exit, with ``${rc}`` when given; returns its console
    ...    output.
    [Arguments]    ${run}    ${rc}=${None}
    ${result}=    Wait For Process    ${run}[process]    timeout=${EXIT_TIMEOUT}    on_timeout=kill
    ${output}=    Get File    ${run}[output]
    IF    $rc is not None
        Should Be Equal As Integers    ${result.rc}    ${rc}    The run exited with ${result.rc}:\n${output}
    END
    RETURN    ${output}

Wait Until Teardowns Are Under Way
    [Documentation]    Waits until the teardown of each of ``tests`` runs; the fixture's ``TEARDOWN_WAITS``
    ...    keeps it running.
    [Arguments]    ${run}    @{tests}
    FOR    ${test}    IN    @{tests}
        Wait Until Created    ${run}[ready_dir]/${test}.teardown    timeout=${EXIT_TIMEOUT}
    END

What The Tests Held Should Be Gone
    [Documentation]    Nothing the agents or tasks of the fixture tests (their ``states``) held is left:
    ...    processes, containers, mounts, cgroups, dirs, ports.
    [Arguments]    ${run}    @{states}
    FOR    ${state}    IN    @{states}
        Resources Should Not Have Leaked    ${state}[before]    collect_garbage=${False}
        RunRoots.Agent Should Have Left Nothing Behind    ${state}[info]
    END
    RunRoots.Run Root Should Be Clean    ${run}[run_root]

What The Tests Held Should Still Be Held
    [Documentation]    The fixture tests' agents and tasks still run: the interruption left them to a sweep.
    [Arguments]    ${run}    @{states}
    RunRoots.Run Root Should Hold A Live Agent    ${run}[run_root]
    FOR    ${state}    IN    @{states}
        Run Keyword And Expect Error    Resources leaked*
        ...    Resources Should Not Have Leaked    ${state}[before]    timeout=1s    collect_garbage=${False}
    END

Next Run Should Sweep Everything
    [Documentation]    Runs the next robot run in the same run root; its first agent start sweeps the dead
    ...    run, and nothing any of the ``states`` held is left.
    [Arguments]    ${run}    @{states}
    RunRoots.Run Fixture Suite    ${NEXT_RUN}    run_root=${run}[run_root]
    What The Tests Held Should Be Gone    ${run}    @{states}

Sweep Until Clean
    [Documentation]    Sweeps the dead runs of ``run_root``; fails unless nothing of them is left.
    [Arguments]    ${run_root}
    RunRoots.Sweep Dead Runs    ${run_root}
    RunRoots.Run Root Should Be Clean    ${run_root}

Remove Interrupted Run
    [Documentation]    Makes sure the run is gone whatever the test saw, logs its console output (its robot
    ...    processes' too) and removes its files.
    [Arguments]    ${run}
    Terminate Process    ${run}[process]    kill=${True}
    IF    "pabot_dir" in $run
        RunRoots.Interrupt Robots Naming    ${run}[pabot_dir]
        Console Output Of Pabot's Robot Processes    ${run}
        Remove Directory    ${run}[pabot_dir]    recursive=${True}
    END
    ${output}=    Get File    ${run}[output]
    Log    ${output}
    # The processes of a run die after their group leader: sweep until their owners are gone too.
    Wait Until Keyword Succeeds    1 min    1s    Sweep Until Clean    ${run}[run_root]
    Remove File    ${run}[output]
    Remove Directory    ${run}[ready_dir]    recursive=${True}
    Remove Directory    ${run}[run_root]    recursive=${True}
