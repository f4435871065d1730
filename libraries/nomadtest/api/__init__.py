"""Nomad's HTTP API: the one client every library uses."""
