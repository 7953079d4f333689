#!/usr/bin/env python3
"""Compute test vectors for pfz's session identity with Python's own json,
hashlib, re and str, so the Go side can prove it reproduces them exactly.

Stdlib only. Run from the repository root:

    python3 scripts/gen_session_vectors.py

It writes internal/session/testdata/vectors.json (hashes, ids, names),
internal/pyjson/testdata/vectors.json (float repr and json.dumps text) and
internal/requirements/testdata/splitlines.json. The output is deterministic
(seeded random numbers), so re-running it changes nothing unless this script
or Python's behaviour changes. The formulas are those of protocol.md §3.6 and
pfazure-surface.md §2.5/§4.5:

    env_hash   = sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
    session_id = sha256(f"{alias}_{lineage_id}_{env_hash}".encode()).hexdigest()[:48]
    lineage_id = sha256(lineage.encode()).hexdigest()
    name       = _sanitize_python_variable_name(...)
"""

import hashlib
import json
import os
import random
import re
import struct
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def typed(v):
    """Encode a value with its Python type, since JSON alone loses int/float."""
    if v is None:
        return {"t": "none"}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": str(v)}
    if isinstance(v, float):
        if v != v:
            return {"t": "float", "v": "nan"}
        if v in (float("inf"), float("-inf")):
            return {"t": "float", "v": "inf" if v > 0 else "-inf"}
        return {"t": "float", "v": v.hex()}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if isinstance(v, (list, tuple)):
        return {"t": "list", "v": [typed(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[typed(k), typed(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def env_hash(env):
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()


def session_id(alias, lineage_id, env):
    return sha(f"{alias}_{lineage_id}_{env_hash(env)}")[:48]


# promptflow/_utils/utils.py (and azure-ai-ml): _normalize_identifier_name
def sanitize(name):
    n = name.lower()
    n = re.sub(r"[\W_]", " ", n)
    n = re.sub(" +", " ", n).strip()
    if re.match(r"\d", n):
        n = "n" + n
    return n.replace(" ", "_")


ENVS = [
    {},
    {"image": "python:3.8-slim", "python_requirements_txt": ["tensorflow"]},
    {"python_requirements_txt": ["promptflow", "promptflow-tools", ""]},
    {"image": "mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest"},
    {"python_requirements_txt": []},
    {"b": 1, "a": 2, "c": {"z": [1, 2.5, None, True, False], "y": "ü"}},
    {"image": "caf\u00e9/\u65e5\u672c:1", "python_requirements_txt": ["# \u00fcber", "pkg==1.0 \\", "-i https://{private}@feed"]},
    {"emoji": "\U0001F680 rocket", "ctl": "\x00\x01\x1f\x7f\t\n\r\b\f\"\\/", "sep": "\u2028\u2029\ufeff"},
    {"nums": [0, -0.0, 0.0, 1.0, -1.5, 1e16, 1e15, 1e-4, 1e-5, 123456789012345678, 2**70, -(2**63), 3.141592653589793]},
    {"specials": [float("inf"), float("-inf"), float("nan")]},
    {"nested": {"deeper": {"deepest": [[], {}, [{}], {"k": []}]}}},
    {"Z": 1, "a": 2, "_": 3, "\u00e9": 4, "\U0001F600": 5, "\uffff": 6, "": 7},
    {1: "int key", 2: "b"},
    {2.5: "float key", 1: "int"},
    {True: "bool key"},
    {None: "none key"},
    {"image": None, "python_requirements_txt": "requirements.txt"},
    [["image", "x"]],
    None,
    "requirements",
    [],
]

ALIASES = ["unknown_user", "john.doe", "jöhn", "00000000-0000-0000-0000-000000000000", ""]

LINEAGES = [
    "promptflow/src/promptflow/tests/test_configs/flows/flow_with_environment",
    "repo/.",
    "my repo/flows/ünïcode flow",
    "281474976710655//home/user/flows/web_classification",
    "0/C:/Users/me/flows/x",
    "",
]

NAMES = [
    "web_classification", "flow-dir-with-dash", "Flow Dir", "  spaced  out  ", "123abc", "__a__b__",
    "Caf\u00e9-Flow", "\u0130stanbul", "ISTANBUL\u0130", "\u039f\u0394\u039f\u03a3", "\u03a3", "\u0391\u03a3 \u0392",
    "\u0391\u03a3\u0391", "\u0391\u03a3.", "\u0391\u0301\u03a3", "\u65e5\u672c\u8a9e\u30d5\u30ed\u30fc", "\u0661\u0662\u0663",
    "\u216b roman", "\u2460 circled", "a\u0301b", "x\u200dy", "\u01c5dz", "Stra\u00dfe", "\u1e9e", "\u212a", "\u00bd half",
    "\u00b2squared", "\u0663x", "\U0001F680flow", "tab\tnew\nline", "", "---", "_", "a.b.c", "Hello, World!",
    "\uff21\uff22\uff23", "\u00c5ngstr\u00f6m", "\u0130", "a\u00a0b", "x\u3000y", "\u10a0\u10a1", "\u1c90",
    "web_classification_variant_0_20240513_081549_123456", "flow_with_environment_20240101_000000_000001",
]

TEXTS = [
    b"", b"\n", b"a", b"a\n", b"a\n\n", b"a\r\nb\rc\n", b"a\r\r\nb", b"\xef\xbb\xbfpromptflow\n",
    b"x\x0by\x0cz\x1cw\x1dv\x1eu\x1ft", "p\u0085q\u2028r\u2029s".encode(), b"tensorflow", b"# c\n\npkg==1 \\\n  --hash=x\n",
    b"trailing spaces   \n\ttab\n", "\u00fcber\n\U0001F680\n".encode(),
]


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=True, indent=1, sort_keys=True)
        f.write("\n")


def main():
    rng = random.Random(20240513)

    floats = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.675, 1e16, 1e15, 9999999999999998.0, 1e17, 1e22, 1e23,
              1e-4, 1e-5, 0.0001234, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456.789,
              100.0, 1e100, 1.0000000000000002, 3.141592653589793, 2.0**53, 2.0**53 + 2, -123e-20]
    for _ in range(3000):
        bits = rng.getrandbits(64)
        f = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if f == f and f not in (float("inf"), float("-inf")):
            floats.append(f)
    for _ in range(500):
        floats.append(rng.uniform(-1e6, 1e6))
        floats.append(round(rng.uniform(0, 1000), rng.randint(0, 6)))

    json_vectors = []
    for env in ENVS:
        json_vectors.append({"value": typed(env), "json": json.dumps(env, sort_keys=True), "env_hash": env_hash(env)})
    # random strings across the planes, to cover escaping and surrogate pairs
    pools = [(0, 0x80), (0x80, 0x800), (0x800, 0xD800), (0xE000, 0x10000), (0x10000, 0x110000)]
    for _ in range(300):
        s = []
        for _ in range(rng.randint(0, 12)):
            lo, hi = pools[rng.randrange(len(pools))]
            s.append(chr(rng.randrange(lo, hi)))
        s = "".join(s)
        v = {s: [s, rng.randint(-10**20, 10**20)]}
        json_vectors.append({"value": typed(v), "json": json.dumps(v, sort_keys=True), "env_hash": env_hash(v)})

    sessions = []
    for alias in ALIASES:
        for lineage in LINEAGES[:3]:
            lid = sha(lineage)
            for env in ENVS[:4]:
                sessions.append({"alias": alias, "lineage_id": lid, "env": typed(env),
                                 "env_hash": env_hash(env), "session_id": session_id(alias, lid, env)})

    meta = {
        "generator": "scripts/gen_session_vectors.py",
        "python": sys.version.split()[0],
        "unicode": __import__("unicodedata").unidata_version,
    }
    write_json(os.path.join(ROOT, "internal", "session", "testdata", "vectors.json"), dict(
        meta,
        json=json_vectors,
        sessions=sessions,
        lineages=[{"lineage": s, "id": sha(s)} for s in LINEAGES],
        sanitize=[{"in": n, "out": sanitize(n)} for n in NAMES],
    ))
    write_json(os.path.join(ROOT, "internal", "pyjson", "testdata", "vectors.json"), dict(
        meta,
        floats=[{"hex": f.hex(), "repr": repr(f), "json": json.dumps(f)} for f in floats],
        json=[{"value": v["value"], "json": v["json"]} for v in json_vectors],
    ))

    lines = []
    with tempfile.TemporaryDirectory() as d:
        for i, data in enumerate(TEXTS):
            p = os.path.join(d, str(i))
            with open(p, "wb") as f:
                f.write(data)
            # exactly what promptflow's Flow._resolve_environment does (UTF-8 locale)
            with open(p, "r", encoding="utf-8") as f:
                got = f.read().splitlines()
            lines.append({"data": data.decode("latin-1"), "lines": got})
    path = os.path.join(ROOT, "internal", "requirements", "testdata", "splitlines.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/gen_session_vectors.py", "note": "data is the file bytes as latin-1 code points",
                   "vectors": lines}, f, ensure_ascii=True, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
