*** Settings ***
Documentation     Fixture of leak_detection.robot, run in a robot process of its own: a test leaves behind
...               what a leaky driver would (a process in the driver's state dir and a bundle dir), so the
...               recovery suites' teardown must fail the suite and list both.

Library           OperatingSystem
Library           Process
Resource          ../../../resources/recovery.resource

Suite Setup       Start Recovery Agents
Suite Teardown    Stop Recovery Agents After Leak Check


*** Test Cases ***
Test Leaves A Process And A Bundle Dir Behind
    [Documentation]    Passes; the leaks it leaves are for the suite teardown to find.
    ${info}=    Get Nomad Agent Info    ${CLIENT}
    Create Directory    ${info}[driver_state_dir]/bundles/crunjar-leaked-bundle
    Start Process    sleep    600    cwd=${info}[driver_state_dir]
