from promptflow.core import tool


@tool
def second(v) -> str:
    return f"got {v!r}"
