*** Settings ***
Documentation     Story: multi-node clusters. Three servers and three clients, each client a test host in a
...               network namespace of its own: the cluster comes up with one leader, spreads and constrains
...               placements over the nodes, lets tasks on different nodes find and talk to each other
...               through Nomad service discovery, migrates allocations off a drained node and keeps jobs
...               running when the leader dies. The tests share one cluster; the last one kills its leader.
...               Six agents take about 550 MiB; no pabot lock is needed beside the other suites.

Resource          ../../resources/cluster.resource

Suite Setup       Start Suite Cluster    ${3}    ${3}    network=isolated    client_config=${CLIENT_CONFIG}
Suite Teardown    Stop Suite Cluster After Leak Check
Test Teardown     Bring Back Cluster Nodes

Test Tags         area:cluster    story:multi-node    needs:local-agents


*** Variables ***
@{CLIENT_CONFIG}    ${{ {'node_class': 'big'} }}    ${{ {} }}    ${{ {'meta': {'rack': 'r2'}} }}
${STARTUP_LIMIT}    15
${ECHO_SERVER}      ${JARS}/echo-server.jar
${ECHO_CLIENT}      ${JARS}/echo-client.jar


*** Test Cases ***
Three Servers And Three Clients Come Up With One Leader And Every Node Ready
    [Documentation]    Every server names the same leader, every client node is ready with the driver healthy and
    ...    its own address in the test subnet, and the whole cluster was ready within ${STARTUP_LIMIT} s.
    ${leader}=    Wait For New Leader
    Log    Cluster ready after ${STARTUP} s; leader ${leader}.
    ${nodes}=    Get Cluster Nodes
    Length Should Be    ${nodes}    3
    FOR    ${node}    IN    @{nodes}
        Should Be Equal    ${node}[status]    ready
        Driver Should Be Healthy    agent=${node}[name]
        Should Be True    ipaddress.ip_address($node["address"]) in ipaddress.ip_network("198.18.0.0/24")
        ...    ${node}[name] has address ${node}[address], outside the test subnet
    END
    ${addresses}=    Evaluate    {node["address"] for node in $nodes}
    Length Should Be    ${addresses}    3    The nodes share addresses: ${nodes}
    Should Be True    ${STARTUP} < ${STARTUP_LIMIT}    The cluster took ${STARTUP} s to be ready

Six Allocations With A Spread Run Two On Every Node
    [Documentation]    A count = 6 service with a spread on the node runs two allocations on each of the three.
    ${job}=    Start Service On Cluster    ${6}    spread=${True}
    Jobs Should Be Spread Across Nodes    ${job}    per_node=${2}

Constraints On Node Class And Meta Place Allocations Only Where They Match
    [Documentation]    Allocations constrained to node class ``big`` all land on client-1, those constrained to
    ...    ``meta.rack = r2`` all on client-3.
    ${big}=    Start Service On Cluster    ${2}
    ...    constraints=${{ [{'attribute': '\${node.class}', 'value': 'big'}] }}
    ${rack}=    Start Service On Cluster    ${2}
    ...    constraints=${{ [{'attribute': '\${meta.rack}', 'value': 'r2'}] }}
    Jobs Should Be Spread Across Nodes    ${big}    nodes=${{ ['client-1'] }}    per_node=${2}
    Jobs Should Be Spread Across Nodes    ${rack}    nodes=${{ ['client-3'] }}    per_node=${2}

Tasks On Two Nodes Find Each Other Through Nomad Services And Exchange A Message
    [Documentation]    An echo server on one node registers a Nomad native service; an echo client on another
    ...    node gets its address from a template's nomadService and exchanges a message with it. Both tasks'
    ...    logs prove it went between the two node addresses.
    ${server}    ${service}=    Start Echo Server
    ${server_node}=    Get Node Of Allocation    ${server}
    ${client}=    Run Echo Client    ${service}    hello across nodes    away_from=${server_node}
    ${client_node}=    Get Node Of Allocation    ${client}
    Should Not Be Equal    ${client_node}    ${server_node}
    Echo Logs Should Show The Exchange    ${server}    ${client}    ${service}    hello across nodes

Draining A Node Moves Its Allocations To The Other Nodes
    [Documentation]    After a drain of client-3 its allocations run on the other nodes and it runs none.
    ${job}=    Start Service On Cluster    ${3}    spread=${True}
    Jobs Should Be Spread Across Nodes    ${job}    per_node=${1}
    Drain Nomad Node    client-3
    Wait Until All Allocations Run    ${job}    ${3}
    Jobs Should Be Spread Across Nodes    ${job}    nodes=${{ ['client-1', 'client-2'] }}

Jobs Keep Running When The Leader Is Killed
    [Documentation]    SIGKILL of the leading server among three: the other two elect a new leader within the
    ...    raft timeout, the running allocations go on untouched and a new job can still be placed.
    ${job}=    Start Service On Cluster    ${3}    spread=${True}
    ${before}=    Get Job Allocations    ${job}
    ${old}=    Kill Nomad Leader
    ${new}=    Wait For New Leader    ${old}    timeout=30s
    Should Not Be Equal    ${new}    ${old}
    ${after}=    Get Job Allocations    ${job}
    ${ids_before}=    Evaluate    sorted(a["ID"] for a in $before)
    ${ids_after}=    Evaluate    sorted(a["ID"] for a in $after if a["ClientStatus"] == "running")
    Should Be Equal    ${ids_after}    ${ids_before}    The allocations changed when the leader died
    Start Service On Cluster    ${1}


*** Keywords ***
Start Echo Server
    [Documentation]    Starts echo-server as a service registered in Nomad under a new name; returns the job id
    ...    and the service name once the service is registered.
    ${service}=    Evaluate    "echo-" + secrets.token_hex(3)
    ${job}=    Start Service On Cluster    port=echo    service=${service}    jar_path=${ECHO_SERVER}
    Wait For Nomad Service    ${service}
    RETURN    ${job}    ${service}

Run Echo Client
    [Documentation]    Runs echo-client as a batch job on another node than ``away_from``, sending ``message`` to
    ...    the address Nomad has for ``service``; returns its job id once it ended with exit code 0.
    [Arguments]    ${service}    ${message}    ${away_from}
    ${job}=    Submit Job    cluster-job    job_type=batch    jar_path=${ECHO_CLIENT}    args=${{ [$message, "20"] }}
    ...    echo_service=${service}    distinct_from=${away_from}
    Wait For Job Status    ${job}    dead
    Task Exit Code Should Be    ${job}    0
    RETURN    ${job}

Echo Logs Should Show The Exchange
    [Documentation]    The client's log shows it connected from its node's address to the address and port the
    ...    service has on the server's node and got the echo; the server's log shows the message came from
    ...    the client's node address.
    [Arguments]    ${server}    ${client}    ${service}    ${message}
    ${instances}=    Wait For Nomad Service    ${service}
    ${server_address}=    Node Address    ${server}
    ${client_address}=    Node Address    ${client}
    Should Be Equal    ${instances}[0][Address]    ${server_address}
    Task Log Should Contain    ${client}    connected from ${client_address} to ${server_address}:${instances}[0][Port]
    Task Log Should Contain    ${client}    received 'echo: ${message}'
    Task Log Should Contain    ${server}    received '${message}' from ${client_address}

Node Address
    [Documentation]    The IP address of the node the job's latest allocation runs on, as the servers know it.
    [Arguments]    ${job}
    ${name}=    Get Node Of Allocation    ${job}
    ${nodes}=    Get Cluster Nodes
    FOR    ${node}    IN    @{nodes}
        IF    $node["name"] == $name    RETURN    ${node}[address]
    END
    Fail    No node named ${name}: ${nodes}
