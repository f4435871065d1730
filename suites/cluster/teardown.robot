*** Settings ***
Documentation    Story: multi-node clusters. Stopping a cluster whose clients run tasks removes all of it:
...              agents, tasks, containers, mounts, cgroups, run dirs, network namespaces, veths and bridge.

Resource         ../../resources/cluster.resource
Library          ../libraries/RunRoots.py

Test Tags        area:framework    story:multi-node    needs:local-agents


*** Test Cases ***
Stopping A Cluster Leaves No Namespace, Link, Process, Container, Mount, Cgroup Or Dir
    [Documentation]    A cluster of one server and two clients runs a task on each client; after
    ...    Stop Nomad Cluster nothing of any agent and nothing of the test network is left on the host.
    ${names}=    Start Nomad Cluster    servers=${1}    clients=${2}    name=teardown    network=isolated
    Start Service On Cluster    ${2}    spread=${True}
    ${network}=    Get Nomad Cluster Network
    VAR    @{agents}=    @{EMPTY}
    FOR    ${name}    IN    @{names}
        ${info}=    Get Nomad Agent Info    ${name}
        VAR    @{agents}=    @{agents}    ${info}
    END
    Stop Nomad Cluster    teardown
    Nomad Cluster Network Should Be Gone    ${network}
    FOR    ${info}    IN    @{agents}
        RunRoots.Agent Should Have Left Nothing Behind    ${info}
    END
    [Teardown]    Stop All Nomad Servers
