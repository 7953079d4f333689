from promptflow.core import tool


@tool
def strip(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "upper"}
