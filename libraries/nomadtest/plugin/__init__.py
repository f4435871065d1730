"""A client of Nomad's driver plugin protocol: driver plugin binaries tested without an agent."""
