"""Nomad agents: settings, starting, readiness, clusters, external clusters, agent logs, nodes, crashes."""
