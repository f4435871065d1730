"""An agent's settings and the configuration file rendered from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomadtest import versions
from nomadtest.host import ports as portlib
from nomadtest.templating import render

CLOUD_FINGERPRINTERS = "env_aws,env_gce,env_azure,env_digitalocean"


# The consul fingerprinter polls 127.0.0.1:8500 forever; there is no Consul here.
DEFAULT_CLIENT_OPTIONS = {"fingerprint.denylist": f"{CLOUD_FINGERPRINTERS},consul"}


# Settings the library derives itself; overriding them would break ports, cleanup or isolation.
RESERVED_SETTINGS = {"name", "data_dir", "plugin_dir", "ports", "bind_addr", "advertise", "addresses", "host", "netns"}


@dataclass
class AgentSettings:
    """Everything that goes into one agent's configuration besides its ports and directories."""

    name: str
    server: bool = True
    client: bool = True
    driver: str = "raw_exec"
    plugin_config: dict[str, Any] = field(default_factory=dict)
    datacenter: str = "dc1"
    region: str = "global"
    log_level: str = "DEBUG"
    bootstrap_expect: int = 1
    server_join: list[str] = field(default_factory=list)
    client_servers: list[str] = field(default_factory=list)
    node_class: str = ""
    network_interface: str = "lo"
    meta: dict[str, Any] = field(default_factory=dict)
    client_options: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CLIENT_OPTIONS))
    server_extra: dict[str, Any] = field(default_factory=dict)
    client_extra: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    extra_hcl: str = ""
    # The address the agent binds and advertises, and the network namespace it runs in (empty: the host's).
    host: str = portlib.HOST
    netns: str = ""

    @property
    def role(self) -> str:
        return "+".join(part for part, enabled in (("server", self.server), ("client", self.client)) if enabled)

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Merge user overrides: known settings by name, ``server``/``client`` dicts into their blocks,
        anything else as a top-level attribute of the agent configuration."""
        for key, value in overrides.items():
            if key in RESERVED_SETTINGS:
                raise ValueError(f"'{key}' is managed by the library and cannot be overridden.")
            if key in ("server", "client") and isinstance(value, Mapping):
                self._merge_block(key, value)
            elif key in ("meta", "client_options") and isinstance(value, Mapping):
                getattr(self, key).update(value)
            elif key in self.__dataclass_fields__ and key not in ("name", "server", "client", "driver"):
                setattr(self, key, value)
            else:
                self.extra[key] = value

    def add_driver_client_settings(self, values: Mapping[str, Any]) -> None:
        """The driver profile's client settings, below what the test set itself."""
        for key, value in values.items():
            if key in ("options", "meta") and isinstance(value, Mapping):
                target = self.client_options if key == "options" else self.meta
                target.update({name: given for name, given in value.items() if name not in target})
            else:
                self.client_extra.setdefault(key, value)

    def _merge_block(self, block: str, values: Mapping[str, Any]) -> None:
        # Attributes the template writes itself are routed to their setting to avoid duplicates.
        routed = {"options": "client_options", "meta": "meta"} if block == "client" else {}
        for key, value in values.items():
            if key in routed:
                getattr(self, routed[key]).update(value)
            elif key in ("servers", "node_class", "network_interface", "bootstrap_expect"):
                setattr(self, "client_servers" if key == "servers" else key, value)
            elif key == "enabled":
                raise ValueError(f"Use the '{block}' argument to enable or disable the {block}.")
            else:
                getattr(self, f"{block}_extra")[key] = value


def render_config(
    settings: AgentSettings,
    agent_ports: portlib.AgentPorts,
    run_dir: Path,
    plugin_dir: Path,
    plugins: dict,
    nomad_version: str = versions.PROVEN_VERSION,
) -> str:
    """The agent's configuration; ``nomad_version`` lets the template follow the binary's version."""
    return render(
        "agent.hcl.j2",
        {
            **{name: getattr(settings, name) for name in settings.__dataclass_fields__},
            "data_dir": str(run_dir / "data"),
            "plugin_dir": str(plugin_dir),
            "bind_addr": settings.host,
            "ports": agent_ports,
            "plugins": plugins,
            "nomad_version": nomad_version,
        },
    )
