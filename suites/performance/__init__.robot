*** Settings ***
Documentation    Performance and resource use of the driver under test: how long JARs take to start,
...              what their tasks use against their memory and CPU limits, what the framework adds to
...              each job, and whether the driver plugin grows. Every figure goes to metrics.json (see
...              the Performance library) and is plotted into log.html; assertions use bounds wide
...              enough that a busy host cannot make them fail, not timed expectations. Each suite
...              holds the measurement lock, so timing suites never run at the same time (pabot too).

Resource         ../../resources/performance.resource

# As in suites/__init__.robot, for when this folder runs alone: tests that need a capability the
# driver does not claim are skipped.
Test Setup       Skip If Driver Lacks A Needed Capability
