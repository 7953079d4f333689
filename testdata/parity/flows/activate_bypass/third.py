from promptflow.core import tool


@tool
def third(v: str) -> str:
    return v.upper()
