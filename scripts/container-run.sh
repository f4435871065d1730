#!/usr/bin/env bash
# Run a make target of the checkout (default test-e2e) inside the test image of scripts/image.sh.
#
# The checkout is bind-mounted read-only and copied inside, so builds and the venv's editable
# install write to the container only; results/container/ of the host receives the results.
# Nomad, the driver and the JARs come built with the copy (make setup on the host); the host's
# Go toolchain and module cache are mounted read-only in case make finds something to rebuild.
# The container is privileged, shares the host's cgroup hierarchies (crun inside creates the
# tasks' cgroups there) and has no network: the tests need none. Before and after, the host's
# leftover check runs; the container is removed whatever happens.
set -euo pipefail

image=${IMAGE:-localhost/nomad-e2e:latest}
target=${TARGET:-test-e2e}
results=$(realpath -m "${CONTAINER_RESULTS:-results/container}")
name=nomad-e2e-$$-$RANDOM
workdir=/srv/nomad-e2e
python=${PYTHON:-.venv/bin/python}
baseline=$results/host-leftovers-before.json

podman image exists "$image" || { echo "no image $image: run make image first"; exit 1; }
mkdir -p "$results"
"$python" scripts/check-leftovers.py --baseline "$baseline" --save
trap 'podman rm --force --ignore --time 5 "$name" >/dev/null' EXIT

# Without CAP_SYS_RESOURCE podman cannot give the container more than its own limits (it lowers
# its RLIMIT_NPROC to 32768), and its defaults ask for more: ask for what it has.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
# On a hybrid host podman mounts only the v1 hierarchies: bind the cgroup2 one too, so crun inside
# sees (and places tasks in) the same layout as on the host.
cgroup2=$(findmnt --noheadings --types cgroup2 --output TARGET | head -n1 || true)
cgroup_mounts=()
[[ -n $cgroup2 && $cgroup2 != /sys/fs/cgroup ]] && cgroup_mounts=(-v "$cgroup2:$cgroup2")
go_mounts=()
if command -v go >/dev/null; then
    go_mounts=(-v "$(go env GOROOT):/usr/local/go:ro" -v "$(go env GOMODCACHE):/root/go/pkg/mod:ro")
fi

started=$SECONDS
status=0
podman run --rm --name "$name" --label nomad-e2e.run="$name" \
    --privileged --cgroupns host --cgroups disabled --network none \
    --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" \
    -v "$PWD:/checkout:ro" -v "$results:/results" "${cgroup_mounts[@]}" "${go_mounts[@]}" \
    -e PATH=/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin -e GOPROXY=off -e GOFLAGS=-mod=readonly \
    -e GOCACHE=/tmp/go-cache -e "ROBOT_OPTS=${ROBOT_OPTS:-}" -e "TARGET=$target" \
    "$image" tini -g -- bash -euo pipefail -c "
        tar -C /checkout --exclude=./.venv --exclude=./results --exclude=./.git --exclude=./build \
            --exclude=./.pabotsuitenames --exclude=./pabot_results -cf - . | tar -C $workdir -xf -
        cd $workdir
        # The image's venv holds the dependencies; the project itself is installed from this copy.
        .venv/bin/pip install --quiet --no-deps --no-build-isolation --no-index -e .
        touch .venv/.installed
        exec make --no-print-directory \"\$TARGET\" RESULTS=/results" || status=$?
echo "container run of make $target: exit $status after $((SECONDS - started)) s"

trap - EXIT
podman rm --force --ignore --time 5 "$name" >/dev/null
"$python" scripts/check-leftovers.py --baseline "$baseline" || status=1
exit $status
