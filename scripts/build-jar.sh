#!/usr/bin/env bash
# Compile one test application (jars/apps/<name>/*.java, entry point class Main)
# into an executable JAR. --release 11 keeps every JDK >= 11 able to run it.
# sun.misc.Signal is the only way to handle signals in Java: its warnings are
# expected, so they are filtered out of javac's one-line diagnostics.
set -euo pipefail
name=$1
jar=$2
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac --release 11 -Xlint:all -XDrawDiagnostics -d "$classes" jars/apps/"$name"/*.java 2>&1 \
    | { grep -v -e 'compiler.warn.sun.proprietary' -e '^[0-9]* warnings\?$' || true; }
mkdir -p "$(dirname "$jar")"
jar --create --file "$jar" --main-class Main -C "$classes" .
