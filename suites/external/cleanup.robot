*** Settings ***
Documentation    Story: cleanup on an external cluster. A run killed with SIGKILL runs no teardown and leaves
...              its test namespace and job on the cluster; the next run on this host finds them by the owner
...              written in the namespace's meta, purges the job and deletes the namespace.

Library          OperatingSystem
Library          Process
Resource         ../../resources/external.resource
Library          ../libraries/RunRoots.py

Suite Setup      Attach The Run To The Cluster

Test Tags        area:external    story:external-cluster    needs:external-cluster


*** Test Cases ***
Namespace Of A Killed Run Is Deleted By The Next Run
    [Documentation]    The fixture attaches, runs a job and is killed; the sweep deletes its namespace and job.
    Remove File    ${TEMPDIR}/killed-while-running.ready
    ${process}    ${run_root}=    RunRoots.Start Fixture Suite    ${CURDIR}/../_fixtures/killed_while_running.robot
    Wait Until Created    ${TEMPDIR}/killed-while-running.ready    timeout=120s
    ${pid}=    Get Process Id    ${process}
    ${namespace}=    Test Namespace Owned By    ${pid}
    Namespace Should Hold Jobs    ${namespace}    1
    Terminate Process    ${process}    kill=${True}
    ${swept}=    RunRoots.Sweep Dead Runs    run_root=${run_root}
    Should Contain    ${swept}[0]    Namespace '${namespace}' of dead process ${pid}
    GET On Session    ${RUN AGENT}    /v1/namespace/${namespace}    expected_status=404
    [Teardown]    Stop Killed Run    ${process}    ${run_root}


*** Keywords ***
Stop Killed Run
    [Documentation]    Makes sure the fixture run is gone, shows its console output and sweeps what it left.
    [Arguments]    ${process}    ${run_root}
    Terminate Process    ${process}    kill=${True}
    ${output}=    Get File    ${run_root}.out
    Log    ${output}
    Remove File    ${run_root}.out
    RunRoots.Sweep Dead Runs    run_root=${run_root}
