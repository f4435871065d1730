*** Settings ***
Documentation    End-to-end specifications of a Nomad task driver that runs JARs in crun containers.
...              Every test runs real Nomad agents, the driver under test, crun and real JVMs.
...              A failed test leaves its agent log, allocations, task events and task logs in log.html
...              by itself (the libraries' listeners capture them). A test tagged needs:<capability>
...              is skipped when the driver under test does not claim it (resources/drivers/).

Resource         ../resources/common.resource

Suite Setup      Driver Profile Should Be Valid
Test Setup       Skip If Driver Lacks A Needed Capability
