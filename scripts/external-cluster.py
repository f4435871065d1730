#!/usr/bin/env python3
"""An ACL-enabled Nomad cluster (1 server, 2 clients) started outside the framework, for its external mode.

    external-cluster.py start DIR     start it, bootstrap ACLs, write DIR/env (NOMAD_ADDR, NOMAD_TOKEN)
    external-cluster.py check DIR [--results RESULTS]
                                      fail if test jobs, namespaces, ACL policies or tokens are left on it,
                                      or if a file under RESULTS holds the cluster's management token
    external-cluster.py stop DIR      stop its agents and remove DIR

It stands for a cluster somebody else runs, so it starts its agents without the framework; only
`stop` borrows the framework's cleanup, to leave no process, container, mount or cgroup on this host.
Everything binds to 127.0.0.1; no update check, no cloud fingerprinters, no Consul or Vault.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from nomadtest.host import sweep

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 2
START_TIMEOUT = 90
DRIVER = "crunjar"
# The framework's namespaces, ACL policies and tokens all start with these.
TEST_PREFIX = "e2e-"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_config(name: str, data_dir: Path, ports: dict[str, int], server_rpc: int | None) -> str:
    common = f"""
name = "{name}"
data_dir = "{data_dir}"
plugin_dir = "{ROOT / "bin" / "plugins"}"
bind_addr = "127.0.0.1"
disable_update_check = true
leave_on_interrupt = false
ports {{
  http = {ports["http"]}
  rpc  = {ports["rpc"]}
  serf = {ports["serf"]}
}}
advertise {{
  http = "127.0.0.1:{ports["http"]}"
  rpc  = "127.0.0.1:{ports["rpc"]}"
  serf = "127.0.0.1:{ports["serf"]}"
}}
acl {{
  enabled = true
}}
consul {{
  auto_advertise   = false
  server_auto_join = false
  client_auto_join = false
}}
vault {{
  enabled = false
}}
"""
    if server_rpc is None:
        return common + "server {\n  enabled = true\n  bootstrap_expect = 1\n}\nclient {\n  enabled = false\n}\n"
    return (
        common
        + f"""
server {{
  enabled = false
}}
client {{
  enabled = true
  network_interface = "lo"
  servers = ["127.0.0.1:{server_rpc}"]
  options {{
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul"
  }}
}}
plugin "nomad-driver-{DRIVER}" {{
  config {{
    state_dir = "{data_dir.parent / DRIVER}"
    cgroup_parent = "{DRIVER}-external-{name}"
  }}
}}
"""
    )


def wait_for(what: str, check, timeout: float = START_TIMEOUT):
    """Ask ``check`` until it returns something true; fail with the last thing it saw."""
    end = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < end:
        try:
            answer = check()
        except requests.RequestException as error:
            answer, last = None, error
        if answer:
            return answer
        time.sleep(0.5)
    sys.exit(f"external cluster: {what} not reached after {timeout} s (last seen: {last})")


def start(directory: Path) -> None:
    nomad = os.environ.get("NOMAD_BIN") or str(ROOT / "bin" / "nomad")
    directory.mkdir(parents=True, exist_ok=False)
    agents = []
    server_ports = {"http": free_port(), "rpc": free_port(), "serf": free_port()}
    names = ["server"] + [f"client-{number}" for number in range(1, CLIENTS + 1)]
    for name in names:
        ports = server_ports if name == "server" else {"http": free_port(), "rpc": free_port(), "serf": free_port()}
        home = directory / name
        (home / "data").mkdir(parents=True)
        config = home / "agent.hcl"
        config.write_text(agent_config(name, home / "data", ports, None if name == "server" else server_ports["rpc"]))
        with open(home / "agent.log", "w") as log:
            process = subprocess.Popen(
                [nomad, "agent", "-config", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        agents.append({"name": name, "pid": process.pid, "http": ports["http"]})
        (directory / "agents.json").write_text(json.dumps(agents, indent=2))
    address = f"http://127.0.0.1:{server_ports['http']}"
    wait_for("a leader", lambda: requests.get(f"{address}/v1/status/leader", timeout=5).json())
    token = wait_for("the ACL bootstrap", lambda: _bootstrap(address))
    headers = {"X-Nomad-Token": token}

    def clients_ready():
        listed = requests.get(f"{address}/v1/nodes", headers=headers, timeout=5).json()
        ready = [
            node["Name"]
            for node in listed
            if node["Status"] == "ready" and (node.get("Drivers") or {}).get(DRIVER, {}).get("Healthy")
        ]
        return ready if len(ready) == CLIENTS else None

    wait_for(f"{CLIENTS} ready nodes with {DRIVER} healthy", clients_ready)
    (directory / "env").write_text(f"export NOMAD_ADDR={address}\nexport NOMAD_TOKEN={token}\n")
    print(f"external cluster at {address}: 1 server, {CLIENTS} clients, ACLs on; environment in {directory / 'env'}")


def _bootstrap(address: str) -> str | None:
    answer = requests.post(f"{address}/v1/acl/bootstrap", timeout=5)
    return answer.json()["SecretID"] if answer.ok else None


def check(directory: Path, results: Path | None = None) -> None:
    """Exit non-zero when the framework left anything of its own on the cluster, or its token in the results."""
    environment = dict(
        line.removeprefix("export ").split("=", 1) for line in (directory / "env").read_text().splitlines()
    )
    address, headers = environment["NOMAD_ADDR"], {"X-Nomad-Token": environment["NOMAD_TOKEN"]}

    def names(path: str, field: str) -> list[str]:
        listed = requests.get(f"{address}{path}", headers=headers, timeout=10).json() or []
        return [entry[field] for entry in listed]

    left = {
        "jobs": names("/v1/jobs?namespace=*", "ID"),
        "namespaces": [name for name in names("/v1/namespaces", "Name") if name != "default"],
        "ACL policies": [name for name in names("/v1/acl/policies", "Name") if name.startswith(TEST_PREFIX)],
        "ACL tokens": [name for name in names("/v1/acl/tokens", "Name") if name.startswith(TEST_PREFIX)],
    }
    found = {kind: items for kind, items in left.items() if items}
    for kind, items in found.items():
        print(f"left on the external cluster: {kind}: {', '.join(items)}")
    leaked = files_holding(results, environment["NOMAD_TOKEN"]) if results is not None else []
    for path in leaked:
        print(f"the cluster's management token (NOMAD_TOKEN) is in {path}")
    if found or leaked:
        sys.exit(1)
    print(f"external cluster at {address}: no test jobs, namespaces, ACL policies or tokens left")
    if results is not None:
        print(f"no file under {results} holds the cluster's management token")


def files_holding(results: Path, secret: str) -> list[Path]:
    """The files under ``results`` that hold ``secret`` as it is (log.html compresses its texts: output.xml
    holds the same ones uncompressed)."""
    return [path for path in sorted(results.rglob("*")) if path.is_file() and secret.encode() in path.read_bytes()]


def stop(directory: Path) -> None:
    listed = json.loads((directory / "agents.json").read_text()) if (directory / "agents.json").exists() else []
    problems = []
    # Clients first, as an operator would; each cleanup also removes what the agent's tasks left.
    for agent in reversed(listed):
        home = directory / agent["name"]
        record = sweep.AgentRecord(
            name=agent["name"],
            run_dir=str(home),
            pid=agent["pid"],
            driver_state_dir=str(home / DRIVER) if agent["name"] != "server" else None,
            cgroup_parent=f"{DRIVER}-external-{agent['name']}" if agent["name"] != "server" else "",
        )
        problems += [f"{agent['name']}: {problem}" for problem in sweep.cleanup(record, grace=10)]
    shutil.rmtree(directory, ignore_errors=True)
    for problem in problems:
        print(f"external cluster: {problem}")
    if problems:
        sys.exit(1)
    print("external cluster stopped and removed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "check", "stop"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--results", type=Path, help="check: the run's results, to search for the token")
    arguments = parser.parse_args()
    if arguments.action == "check":
        check(arguments.directory.resolve(), arguments.results)
    else:
        {"start": start, "stop": stop}[arguments.action](arguments.directory.resolve())


if __name__ == "__main__":
    main()
