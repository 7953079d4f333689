import os
import sys

from helper import greet
from promptflow.core import tool

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "note.txt"), encoding="utf-8") as f:
    NOTE = f.read().strip()


@tool
def where(x: str) -> dict:
    print("printing", x)
    return {
        "name": __name__,
        "file": os.path.basename(__file__),
        "file_is_absolute": os.path.isabs(__file__),
        "cwd_has_flow": os.path.isfile("flow.dag.yaml"),
        "note": NOTE,
        "helper": greet(x),
        "sibling_on_path": any(os.path.isfile(os.path.join(p or ".", "helper.py")) for p in sys.path),
    }
