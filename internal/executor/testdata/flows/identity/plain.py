from promptflow.core import tool


@tool
def plain(d: dict):
    return {k: v for k, v in d.items() if k != "g"}
