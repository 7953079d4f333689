import os

from promptflow.core import tool


@tool
def read_env(name: str) -> dict:
    keys = ["PARITY_FROM_FLOW", "PARITY_OVERRIDDEN", "PARITY_FROM_RUN", "PARITY_NUMBER", "PARITY_FROM_CONNECTION", "PARITY_UNSET"]
    return {k: os.environ.get(k) for k in keys} | {"name": name}
