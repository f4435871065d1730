*** Settings ***
Documentation     Story: the plugin. It answers Nomad's handshake as a driver plugin of the plugin API Nomad
...               speaks, describes its config in schemas that take what the profile writes, refuses a
...               config it cannot use with an error, and stays up after refusing one.

Resource          sanity.resource

Suite Setup       Start Sanity Plugin
Suite Teardown    Stop Sanity Plugin

Test Tags         area:sanity    story:plugin


*** Test Cases ***
Plugin Reports Itself As A Driver Of The Driver Under Test
    [Documentation]    PluginInfo says type DRIVER and the name jobs use in ``driver = "..."``.
    ${info}=    Get Driver Plugin Info
    ${profile}=    Get Driver Profile
    Should Be Equal    ${info}[type]    DRIVER
    Should Be Equal    ${info}[name]    ${profile}[name]

Plugin Speaks The Plugin API Nomad Speaks
    [Documentation]    Among the plugin API versions it offers is v0.1.0, the one Nomad's client negotiates; it
    ...    reports a version of its own.
    ${info}=    Get Driver Plugin Info
    Should Contain    ${info}[api_versions]    v0.1.0
    Should Not Be Empty    ${info}[plugin_version]

Config Schemas Take What The Profile Writes
    [Documentation]    ConfigSchema has every option of the profile's plugin config and TaskConfigSchema every
    ...    task option its [task] table writes, or Nomad would refuse them as unsupported arguments.
    Driver Schemas Should Take The Profile

Unknown Plugin Config Option Is Refused Naming It
    [Documentation]    An option the plugin's ConfigSchema does not have is refused before SetConfig, as the
    ...    client refuses the agent's plugin block, naming the option.
    ${message}=    Run Keyword And Expect Error    *    Set Driver Config    no_such_option=1
    Should Contain    ${message}    "no_such_option" is not expected here

Plugin Refuses A Config It Cannot Decode And Stays Up
    [Documentation]    SetConfig with bytes that are no msgpack fails with the plugin's error instead of
    ...    crashing it; the same process answers afterwards and accepts the profile's config again.
    ${pid}=    Get Driver Plugin Pid
    Run Keyword And Expect Error    SetConfig failed*    Set Driver Config    raw=${{ b"\xc1\xc1" }}
    Plugin Should Still Answer    ${pid}
    Set Driver Config
    Wait For Driver Health

Relative State Dir Is Refused With The Option's Name
    [Documentation]    crunjar refuses a state_dir that is not an absolute path, saying which option is wrong.
    [Tags]    needs:crunjar-diagnostics
    ${message}=    Run Keyword And Expect Error    *    Set Driver Config    state_dir=relative/dir
    Should Contain    ${message}    state_dir must be an absolute path
    Set Driver Config
