*** Settings ***
Documentation     Story: fingerprint and capabilities. Configured from its profile on this host, the driver
...               fingerprints healthy with attributes named after it, and what Capabilities() answers is
...               what the profile claims.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:fingerprint


*** Test Cases ***
Fingerprint Reports The Driver Healthy
    [Documentation]    The first healthy fingerprint comes with a description of the health.
    ${fingerprint}=    Wait For Driver Health    healthy
    Should Not Be Empty    ${fingerprint}[description]

Fingerprint Attributes Are Named After The Driver
    [Documentation]    A healthy fingerprint carries attributes, each named ``driver.<name>`` or below it, as
    ...    Nomad shows them among the node's attributes.
    ${profile}=    Get Driver Profile
    ${fingerprint}=    Wait For Driver Health
    Should Not Be Empty    ${fingerprint}[attributes]
    FOR    ${name}    IN    @{fingerprint}[attributes]
        Should Match Regexp    ${name}    ^driver\\.${profile}[name](\\.|$)
    END

Capabilities Match What The Profile Claims
    [Documentation]    Capabilities() does not deny what the profile claims: signals need SendSignals, exec
    ...    needs Exec, isolation a file system isolation.
    Driver Capabilities Should Match Profile

Capabilities Of A Driver That Runs JARs In Containers
    [Documentation]    crunjar signals, execs, isolates with an image and takes mounts.
    [Tags]    needs:crunjar-diagnostics
    Driver Capabilities Should Be    send_signals=True    exec=True    fs_isolation=image    mount_configs=any

Fingerprint Names The OCI Runtime And The Java Versions
    [Documentation]    crunjar's fingerprint says which runtime it found and each Java version it can run.
    [Tags]    needs:crunjar-diagnostics
    ${fingerprint}=    Wait For Driver Health
    ${names}=    Get Dictionary Keys    ${fingerprint}[attributes]
    Should Contain    ${names}    driver.crunjar.runtime
    Should Contain Match    ${names}    driver.crunjar.java.*.version
