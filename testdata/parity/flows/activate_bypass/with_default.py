from promptflow.core import tool


@tool
def with_default(v="fallback") -> str:
    return f"v={v!r}"
