*** Settings ***
Documentation    Multi-node clusters: servers on this host, each client agent a test host in a network
...              namespace of its own on a bridge made for the cluster (198.18.0.0/24, no route out, no NAT).
...              Scheduling across nodes, cross-node service discovery, node death, partition, drain and
...              leader loss. Needs root; each suite starts its own cluster (4 to 6 agents, about 90 MiB each),
...              so no pabot lock is taken.

Resource         ../../resources/cluster.resource

# As in suites/__init__.robot, for when this folder runs alone: tests that need a capability the
# driver does not claim (or agents of their own, against an external cluster) are skipped.
Test Setup       Skip If Driver Lacks A Needed Capability
