"""The host under the agents: processes, ports, network namespaces, the run root, leaks and the sweep."""
