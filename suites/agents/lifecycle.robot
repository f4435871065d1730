*** Settings ***
Documentation    Story: agent lifecycle. Real Nomad agents start from a rendered configuration with
...              their own ports and run directory, are ready only when the driver is healthy, and
...              leave nothing behind when stopped.

Library          Collections
Library          OperatingSystem
Library          Process
Library          ../libraries/PortBlocker.py
Resource         ../../resources/common.resource
Library          ../libraries/RunRoots.py

Test Teardown    Stop Test Agents

Test Tags        story:agent-lifecycle    area:framework    needs:local-agents


*** Test Cases ***
Nomad's Own CLI Sees The Agent The Library Started
    [Documentation]    Get Nomad Binary names the binary the agents run, for cross-checks with Nomad's CLI.
    ${agent}=    Start Nomad Server
    ${nomad}=    Get Nomad Binary
    ${address}=    Get Nomad Address    ${agent}
    ${result}=    Run Process    ${nomad}    node    status    -verbose    env:NOMAD_ADDR=${address}    timeout=30s
    Should Be Equal As Integers    ${result.rc}    0    ${result.stderr}
    ${id}=    Get Node Id    ${agent}
    Should Contain    ${result.stdout}    ${id}

Agent Starts With Custom Configuration
    [Documentation]    Settings given to Start Nomad Server reach the running agent.
    ${agent}=    Start Nomad Server    datacenter=dc-e2e    node_class=e2e-class    meta=${{ {'rack': 'r7'} }}
    ${node}=    Get Nomad Node    ${agent}
    Should Be Equal    ${node}[Datacenter]    dc-e2e
    Should Be Equal    ${node}[NodeClass]    e2e-class
    Should Be Equal    ${node}[Meta][rack]    r7

Ready Agent Accepts API Calls And Runs The Driver Under Test
    [Documentation]    Ready means a leader, a ready client node and the driver detected and healthy.
    ${agent}=    Start Nomad Server
    ${node}=    Get Nomad Node    ${agent}
    Should Be Equal    ${node}[Status]    ready
    Driver Should Be Healthy
    ${driver}=    Get Driver Info
    Should Be True    ${driver}[Detected] and ${driver}[Healthy]

Agent Configuration Comes From The Template With Dynamic Values
    [Documentation]    Ports, directories and plugin settings are rendered per agent, never fixed.
    ${agent}=    Start Nomad Server
    ${info}=    Get Nomad Agent Info    ${agent}
    ${config}=    Get File    ${info}[config_path]
    Should Match Regexp    ${config}    http\\s+=\\s+${info}[http_port]
    Should Match Regexp    ${config}    data_dir\\s+=\\s+"${info}[run_dir]/data"
    Should Match Regexp    ${config}    disable_update_check\\s+=\\s+true
    Should Contain    ${config}    env_aws

Plugin Directory And Driver Binary Are Configurable
    [Documentation]    The agent loads the driver binary from the configured plugin directory.
    ${agent}=    Start Nomad Server
    ${info}=    Get Nomad Agent Info    ${agent}
    Nomad Agent Log Should Contain    plugin started: plugin_dir=${info}[plugin_dir]    ${agent}
    ${driver}=    Get Driver Info    ${info}[driver]
    Should Be True    ${driver}[Healthy]
    Should Not Be Empty    ${driver}[Attributes]

Agents Get Distinct Free Loopback Ports
    [Documentation]    Two agents at once never share a port, and bind loopback only.
    ${first}=    Start Nomad Server    name=first
    ${second}=    Start Nomad Server    name=second
    ${a}=    Get Nomad Agent Info    ${first}
    ${b}=    Get Nomad Agent Info    ${second}
    VAR    @{ports}=    ${a}[http_port]    ${a}[rpc_port]    ${a}[serf_port]
    ...    ${b}[http_port]    ${b}[rpc_port]    ${b}[serf_port]
    List Should Not Contain Duplicates    ${ports}
    ${address}=    Get Nomad Address    ${second}
    Should Start With    ${address}    http://127.0.0.1:

Port Taken Between Pick And Bind Is Detected And Retried
    [Documentation]    When another process grabs a picked port first, the agent starts on new ports.
    ${busy}=    Occupy A Free Port
    ${agent}=    Start Nomad Server    ports=${{ {"http": ${busy}} }}
    ${info}=    Get Nomad Agent Info    ${agent}
    Should Not Be Equal As Integers    ${info}[http_port]    ${busy}
    [Teardown]    Run Keywords    Release Occupied Ports    AND    Stop Test Agents

Stopping An Agent Leaves No Process, Directory, Mount Or Port Behind
    [Documentation]    Stop is SIGINT, grace, SIGKILL of the tree, unmount, remove dir, free ports.
    ${agent}=    Start Nomad Server
    ${job}=    Submit Job    java-service    jar_path=${JARS}/long-runner.jar
    Wait For Task State    ${job}    running
    ${info}=    Get Nomad Agent Info    ${agent}
    Stop Nomad Server    ${agent}
    RunRoots.Agent Should Have Left Nothing Behind    ${info}
