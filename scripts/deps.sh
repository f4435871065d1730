#!/usr/bin/env bash
# Install the host packages the tests run on, when missing, and prepare cgroups
# so crun can start containers. Idempotent; safe to run before every test run.
# `deps.sh image` adds what `make image` and `make test-e2e-container` need.
set -euo pipefail

# stress-ng: the CPU burner of `make soak STRESS=1`.
packages=(crun runc openjdk-17-jdk-headless iproute2 psmisc stress-ng)
[[ ${1:-} == image ]] && packages+=(mmdebstrap podman)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    if ((EUID != 0)); then
        echo "missing Debian packages: ${missing[*]}"
        echo "run as root: apt-get update && apt-get install -y ${missing[*]}"
        exit 1
    fi
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "Go is required to build Nomad and the driver (go 1.25 or newer)"; exit 1; }

python3 scripts/hostcheck.py fix-cgroups
