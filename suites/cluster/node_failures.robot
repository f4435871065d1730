*** Settings ***
Documentation     Story: multi-node clusters. A client node that dies or is cut off: the servers notice within
...               seconds, its allocations are replaced on another node, and when the node comes back Nomad
...               reconciles and nothing of the old allocation is left on it. One server and three clients,
...               each a test host in a network namespace; each test brings its node back before it ends.
...               Four agents take about 350 MiB; no pabot lock is needed beside the other suites. Two tests
...               check what the framework's waits make of a dead node (area:framework, not in test-e2e).

Resource          ../../resources/cluster.resource

Suite Setup       Start Suite Cluster    ${1}    ${3}    network=isolated
Suite Teardown    Stop Suite Cluster After Leak Check
Test Teardown     Bring Back Cluster Nodes

Test Tags         area:cluster    story:multi-node    needs:local-agents


*** Variables ***
# Heartbeat TTL and grace are 3 s each in the cluster's servers (see Start Nomad Cluster).
${DOWN_WITHIN}    20s
# Long enough that the disconnected allocation is still unknown, not lost, when the node comes back.
${LOST_AFTER}     5m


*** Test Cases ***
A Killed Client Goes Down And Its Allocation Runs Again On Another Node
    [Documentation]    SIGKILL of the client agent running a service: the node goes down, the allocation is lost
    ...    and its replacement runs on another node. Started again, the node is ready and the old container
    ...    it left running is gone: the node holds nothing at all.
    ${job}    ${alloc}    ${node}=    Start Service And Find Its Node
    Kill Nomad Client    ${node}
    Wait For Node Status    ${node}    down    timeout=${DOWN_WITHIN}
    Wait For Allocation Status    ${job}    lost    alloc_id=${alloc}
    Wait For Replacement Allocation    ${job}    ${alloc}
    Restart Nomad Client    ${node}
    Wait For Node Status    ${node}    ready
    Resources Should Not Have Leaked    agent=${node}

A Partitioned Node Goes Disconnected And Nomad Reconciles When It Is Healed
    [Documentation]    With a ``disconnect { lost_after }`` block, a node cut off the network goes disconnected,
    ...    its allocation unknown and a replacement runs elsewhere; healed, the node is ready again, Nomad
    ...    keeps one allocation running, stops the other, and the healed node holds nothing of a stopped one.
    ${job}    ${alloc}    ${node}=    Start Service And Find Its Node    disconnect_lost_after=${LOST_AFTER}
    ...    reschedule_attempts=${1}
    ${before}=    Take Resource Snapshot    ${node}
    Partition Nomad Node    ${node}
    Wait For Node Status    ${node}    disconnected    timeout=${DOWN_WITHIN}
    Wait For Allocation To Be Unknown    ${job}    ${alloc}
    Wait For Replacement Allocation    ${job}    ${alloc}
    Heal Nomad Node    ${node}
    Wait For Node Status    ${node}    ready
    ${kept}=    Wait For Job To Reconcile    ${job}    running=${1}
    Healed Node Should Hold Only What Nomad Kept    ${node}    ${before}    ${alloc}    ${kept}

The Replacement Of A Killed Node's Allocation Is A New Allocation, Not Another Original
    [Documentation]    Two allocations spread over the nodes; the node of the first is killed. What `Wait For
    ...    Replacement Allocation` returns is an allocation Nomad created to replace it (its PreviousAllocation),
    ...    never the second original, which was running on another node before the kill.
    [Tags]    -area:cluster    area:framework
    ${job}=    Start Service On Cluster    ${2}    spread=${True}
    ${originals}=    Get Job Allocations    ${job}
    VAR    ${first}=    ${originals}[0]
    Kill Nomad Client    ${first}[NodeName]
    Wait For Node Status    ${first}[NodeName]    down    timeout=${DOWN_WITHIN}
    ${new}=    Wait For Replacement Allocation    ${job}    ${first}[ID]
    Should Not Be Equal    ${new}    ${originals}[1][ID]    The second original was returned as the replacement
    ${replacement}=    Get Allocation    ${job}    ${new}
    Should Be Equal    ${replacement}[PreviousAllocation]    ${first}[ID]

Reconciliation Does Not Count The Allocations Of A Down Node As Running
    [Documentation]    Three allocations, one per node. With the servers' evaluation broker paused nothing marks
    ...    the allocation of a killed node lost: seen down, its node still lists it running. `Wait For Job To
    ...    Reconcile    running=3` does not count it and times out naming it; once the broker runs again and
    ...    the allocation is lost, it returns three running allocations, that one not among them.
    [Tags]    -area:cluster    area:framework
    ${job}=    Start Service On Cluster    ${3}    spread=${True}
    ${alloc}=    Get Allocation    ${job}
    Pause Nomad Evaluations    ${True}
    Kill Nomad Client    ${alloc}[NodeName]
    Wait For Node Status    ${alloc}[NodeName]    down    timeout=${DOWN_WITHIN}
    Run Keyword And Expect Error    *did not reconcile to 3 running within 3 seconds*(down): running/run*
    ...    Wait For Job To Reconcile    ${job}    running=${3}    timeout=3s
    Pause Nomad Evaluations    ${False}
    ${running}=    Wait For Job To Reconcile    ${job}    running=${3}
    Should Not Contain    ${running}    ${alloc}[ID]    The allocation on the down node was counted as running
    [Teardown]    Resume Evaluations And Bring Back Cluster Nodes


*** Keywords ***
Healed Node Should Hold Only What Nomad Kept
    [Documentation]    When Nomad kept the original allocation, the healed node holds what it held before the
    ...    partition; when it kept the replacement, the node holds nothing at all.
    [Arguments]    ${node}    ${before}    ${original}    ${kept}
    IF    $original in $kept
        Resources Should Not Have Leaked    ${before}    agent=${node}
    ELSE
        Resources Should Not Have Leaked    agent=${node}
    END

Pause Nomad Evaluations
    [Documentation]    Pauses (or resumes) the servers' evaluation broker, keeping the rest of the scheduler
    ...    configuration: paused, the servers schedule nothing, so a down node's allocations stay as they were.
    [Arguments]    ${paused}
    ${answer}=    GET On Session    nomad    /v1/operator/scheduler/configuration
    ${config}=    Evaluate    {**$answer.json()["SchedulerConfig"], "PauseEvalBroker": $paused}
    PUT On Session    nomad    /v1/operator/scheduler/configuration    json=${config}

Resume Evaluations And Bring Back Cluster Nodes
    [Documentation]    Test teardown of a test that pauses evaluations: the broker runs again, then every node
    ...    comes back as after any test.
    Pause Nomad Evaluations    ${False}
    Bring Back Cluster Nodes
