#!/usr/bin/env bash
# Proves the package works installed, outside the checkout: the wheel built from it goes into a fresh
# venv in a temp dir; there a suite that imports the libraries by name runs a JAR through a real agent,
# and from an empty directory `nomad-e2e conformance` runs the area:happy tests against crunjar with
# nothing but the wheel, Nomad, the plugin and a JDK (no Go, no checkout, JARs built on first use).
# Writes results/install/output.xml and results/install/kit/.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
nomad_bin="${NOMAD_BIN:-$checkout/bin/nomad}"
plugin="$checkout/bin/plugins/nomad-driver-crunjar"
work="$(mktemp -d /tmp/nomad-e2e-install-XXXXXX)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$work/wheel" "$checkout"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/wheel/*.whl
cat > "$work/driver_team.robot" <<ROBOT
*** Settings ***
Documentation       A driver team's own suite: the framework installed with pip, libraries imported by name.
Library             NomadServer    nomad_bin=$nomad_bin    plugin_dir=$checkout/bin/plugins
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

mkdir "$work/team"
cd "$work/team"
# The system's PATH only (the JDK, crun): not Go, not the venv's bin; a JAR cache of its own.
env PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_CACHE_HOME="$work/cache" \
    "$work/venv/bin/nomad-e2e" conformance --driver crunjar --plugin "$plugin" --nomad-bin "$nomad_bin" \
    --outputdir "$checkout/results/install/kit" -- --include area:happy
