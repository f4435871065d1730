#!/usr/bin/env bash
# Proves the libraries work installed, outside the checkout: `pip install .` into a fresh venv in a
# temp dir, then a suite there that imports the libraries by name and runs a JAR through a real agent.
# Writes results/install/output.xml.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/nomad-e2e-install-XXXXXX)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$checkout"
cat > "$work/driver_team.robot" <<ROBOT
*** Settings ***
Documentation       A driver team's own suite: the framework installed with pip, libraries imported by name.
Library             NomadServer    nomad_bin=${NOMAD_BIN:-$checkout/bin/nomad}    plugin_dir=$checkout/bin/plugins
Library             NomadJob
Library             LogVerifier
Test Tags           area:install    story:installable

*** Test Cases ***
Installed Libraries Run A JAR Through A Real Agent
    [Documentation]    Templates ship inside the package: java-batch renders, Nomad runs it, the output is read.
    Start Nomad Server
    \${job}=    Submit Job    java-batch    jar_path=$checkout/jars/build/hello.jar
    Wait For Job To Complete Successfully    \${job}
    Task Log Should Contain    \${job}    Hello from crunjar!
    [Teardown]    Stop All Nomad Servers
ROBOT
cd "$work"
"$work/venv/bin/robot" --outputdir "$checkout/results/install" --log NONE --report NONE driver_team.robot
