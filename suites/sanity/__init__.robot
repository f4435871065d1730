*** Settings ***
Documentation    Driver sanity: the driver plugin binary tested directly over Nomad's plugin protocol, without
...              an agent, like csi-sanity and critest. Each suite starts the plugin as a Nomad client does
...              (magic cookie, handshake, gRPC on its socket), configures it from the driver's profile and
...              calls its RPCs; tests of what the driver does not claim (needs:<capability>) are skipped.
...              Every suite ends with a leak check of what the plugin's tasks left on the host.

Resource         sanity.resource

Suite Setup      Driver Profile Should Be Valid
Test Setup       Skip If Driver Lacks A Needed Capability

Test Tags        area:sanity
