#!/usr/bin/env bash
# Session starts with and without uv: the first flow (a new environment), a
# second flow with the same environment (a copy of the cached one), and
# examples/slugify-titles (python-slugify from PyPI).
#   scripts/bench/second_session.sh PFZ_BINARY UV_BINARY
cd "$(dirname "$0")/../.."
PFZ=${1:-bin/pfz}; UVBIN=${2:-uv}
for mode in off uv; do
  home=$(mktemp -d); export PFZ_HOME=$home
  if [ $mode = off ]; then export PFZ_UV=off; else export PFZ_UV=$UVBIN; fi
  t0=$(date +%s.%N); $PFZ session start --flow examples/hello-python >/dev/null 2>&1; t1=$(date +%s.%N)
  $PFZ session start --flow examples/classify-reviews >/dev/null 2>&1; t2=$(date +%s.%N)
  $PFZ session start --flow examples/slugify-titles >/dev/null 2>&1; t3=$(date +%s.%N)
  python3 -c "print('$mode: first %.1fs, second (same environment) %.2fs, slugify (python-slugify from PyPI) %.1fs' % ($t1-$t0, $t2-$t1, $t3-$t2))"
  echo "load $(cut -d' ' -f1 /proc/loadavg)"
  rm -rf $home
done
