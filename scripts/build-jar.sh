#!/usr/bin/env bash
# Compile one test application (jars/apps/<name>/*.java, entry point class Main)
# into an executable JAR. --release 11 keeps every JDK >= 11 able to run it; an
# app whose folder has a file named release is compiled for that Java version
# instead, by the first javac (PATH, then /usr/lib/jvm) that supports it.
# sun.misc.Signal is the only way to handle signals in Java: its warnings are
# expected, so they are filtered out of javac's one-line diagnostics.
set -euo pipefail
name=$1
jar=$2
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
release=11
[[ -f jars/apps/$name/release ]] && release=$(<"jars/apps/$name/release")
javac=
for candidate in "$(command -v javac || true)" /usr/lib/jvm/*/bin/javac; do
    if [[ -x $candidate ]] && "$candidate" --release "$release" -version >/dev/null 2>&1; then
        javac=$candidate
        break
    fi
done
[[ -n $javac ]] || { echo "no javac supports --release $release (needed by jars/apps/$name)" >&2; exit 1; }
"$javac" --release "$release" -Xlint:all -XDrawDiagnostics -d "$classes" jars/apps/"$name"/*.java 2>&1 \
    | { grep -v -e 'compiler.warn.sun.proprietary' -e '^[0-9]* warnings\?$' || true; }
mkdir -p "$(dirname "$jar")"
jar --create --file "$jar" --main-class Main -C "$classes" .
