*** Settings ***
Documentation    Run by isolation/interruption.robot in the run root of an interrupted run: the next run,
...              whose first agent start sweeps what dead runs left there.

Resource         ../../resources/common.resource


*** Test Cases ***
Next Run Starts And Stops An Agent
    [Documentation]    Fixture: not a specification, see isolation/interruption.robot.
    Start Nomad Server    name=next-run
    Stop Nomad Server    next-run
