"""Writes expected.jsonl from a promptflow run of this flow.

    python3 -m venv /tmp/pfref && /tmp/pfref/bin/pip install promptflow==1.18.5 promptflow-tools keyrings.alt
    cd internal/executor/testdata/flows/jinja
    PF_DISABLE_TRACING=true /tmp/pfref/bin/pf run create --flow . --data data.jsonl --name jinja_golden_N
    python3 golden.py ~/.promptflow/.runs/jinja_golden_N/flow_outputs/output.jsonl

Each line of expected.jsonl is one data line: its line number and each
group's rendered text, as promptflow wrote it.
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
rows.sort(key=lambda r: r["line_number"])
with open("expected.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
