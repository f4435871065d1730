*** Settings ***
Documentation    Acceptance scenarios: what a user of a JAR-in-crun Nomad task driver relies on, each
...              test one criterion, against a real agent, crun and JVM. Tags name the area
...              (``area:happy``, ``area:errors``, ``area:lifecycle``, ``area:edge``, ``area:signals``,
...              ``area:artifacts``, ``area:container``, ``area:resources``) and the story.
...              Every suite ends with a leak check of what its tasks held on the host. The suites share
...              one agent, started here (a suite run on its own starts its own).

Resource         ../../resources/scenarios.resource

Suite Setup      Start Shared Nomad Agent
