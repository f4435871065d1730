#!/usr/bin/env bash
# Generate the broken fixtures the error scenarios need, from a good JAR, so no
# binary is committed: a truncated JAR, a zip with no entries, a zero-byte file,
# a JAR whose manifest has no Main-Class, a text file named .jar and a Python
# artifact.
set -euo pipefail
good=$1
out=$2
mkdir -p "$out"
size=$(stat -c %s "$good")
head -c $((size / 2)) "$good" > "$out/corrupted.jar"
# An empty zip archive is only its end-of-central-directory record.
printf 'PK\005\006%018d' 0 | tr 0 '\000' > "$out/empty.jar"
: > "$out/zero-bytes.jar"
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
good=$(realpath "$good")
(cd "$classes" && jar xf "$good" && rm -r META-INF)
jar --create --file "$out/no-main-class.jar" -C "$classes" .
echo "this is plain text, not a JAR" > "$out/text.jar"
printf '#!/usr/bin/env python3\nprint("not java")\n' > "$out/script.py"
