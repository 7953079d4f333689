#!/usr/bin/env bash
# venv+pip vs uv 0.9.30: create an environment and install the same
# requirements (requests, pyyaml, jinja2 from PyPI) three times (cold caches,
# then warm), and compare what each installed. Works in a scratch folder:
#   scripts/bench/uv_vs_pip.sh [DIR]   (default: a new temp folder)
set -uo pipefail
cd "${1:-$(mktemp -d)}"
[ -x tool/bin/uv ] || { python3 -m venv tool && tool/bin/pip install -q uv==0.9.30; }
UV=$PWD/tool/bin/uv
$UV --version
printf 'requests\npyyaml\njinja2\n' > req.txt
export PIP_CACHE_DIR=$PWD/pipcache UV_CACHE_DIR=$PWD/uvcache
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; local e=$(date +%s.%N); python3 -c "print('%.2f' % ($e-$s))"; }
for round in cold warm warm2; do
  rm -rf e1 e2 e3
  a=$(t python3 -m venv e1); b=$(t e1/bin/python -m pip install --disable-pip-version-check -r req.txt)
  c=$(t $UV venv --seed -p python3 e2); d=$(t $UV pip install --python e2/bin/python -r req.txt)
  f=$(t $UV venv -p python3 e3); g=$(t $UV pip install --python e3/bin/python -r req.txt)
  echo "$round venv=$a pip=$b | uv-venv-seed=$c uv-pip=$d | uv-venv=$f uv-pip=$g | load=$(cut -d' ' -f1 /proc/loadavg)"
  e1/bin/python -m pip freeze | tr A-Z a-z | sort > f1; e2/bin/python -m pip freeze | tr A-Z a-z | sort > f2; $UV pip freeze --python e3/bin/python 2>/dev/null | tr A-Z a-z | sort > f3
  diff f1 f2 >/dev/null && diff f1 f3 >/dev/null && echo "same packages: $(tr '\n' ' ' < f1)" || { echo DIFF; diff f1 f2; diff f1 f3; }
done
