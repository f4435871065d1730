*** Settings ***
Documentation    The container runtime matrix: the same JARs on every Java version the client offers
...              (11, 17, 21 and 25, set up by ``make deps``), on both OCI runtimes the driver takes
...              (crun and runc), and the runtime's own failures reported clearly. Each suite ends with
...              a leak check of what its tasks held on the host.

Resource         runtimes.resource
