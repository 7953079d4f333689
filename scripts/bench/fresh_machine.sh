#!/usr/bin/env bash
# A fresh machine's first hour, with and without pfz's own uv: each round a
# new HOME (no pip or uv cache) and PFZ_HOME, no uv on PATH, no pip
# configuration (PIP_CONFIG_FILE=/dev/null, no PIP_* variables), the
# system's certificate bundle for both pip (REQUESTS_CA_BUNDLE) and uv
# (SSL_CERT_FILE), as a machine behind a TLS-inspecting proxy needs:
#   first   the first session (hello-python: a new environment; with uv it
#           includes installing uv 0.9.30 itself, the time pfz prints)
#   second  another flow with the same environment (classify-reviews: a copy)
#   slugify examples/slugify-titles: a new environment plus a small
#           requirements file (python-slugify from PyPI)
#   scripts/bench/fresh_machine.sh [PFZ_BINARY] [ROUNDS]
cd "$(dirname "$0")/../.."
PFZ=$(realpath "${1:-bin/pfz}"); ROUNDS=${2:-2}; CA=${CA:-/etc/ssl/certs/ca-certificates.crt}
path=$(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -x "$d/uv" ] || echo "$d"; done | paste -sd:)
t() { local s=$(date +%s.%N); "$@"; local e=$(date +%s.%N); python3 -c "print('%.1f' % ($e-$s))"; }
for round in $(seq "$ROUNDS"); do
  for mode in off auto; do
    tmp=$(mktemp -d)
    run() { env -i PATH="$path" HOME="$tmp/home" PFZ_HOME="$tmp/pfz" PFZ_CONFIG_DIR="$tmp/cfg" PIP_CONFIG_FILE=/dev/null PFZ_UV=$mode \
      REQUESTS_CA_BUNDLE="$CA" SSL_CERT_FILE="$CA" \
      "$PFZ" session start --flow "$1" >/dev/null 2>>"$tmp/stderr"; }
    mkdir -p "$tmp/home"
    a=$(t run examples/hello-python); b=$(t run examples/classify-reviews); c=$(t run examples/slugify-titles)
    uvt=$(grep -o 'installed in [0-9.]*s' "$tmp/stderr" | head -1)
    echo "round $round PFZ_UV=$mode: first ${a}s, second ${b}s, slugify ${c}s ${uvt:+(uv $uvt)} load $(cut -d' ' -f1 /proc/loadavg)"
    rm -rf "$tmp"
  done
done
