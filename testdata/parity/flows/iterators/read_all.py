from promptflow.core import tool


@tool
def read_all(x, after: str = "") -> str:
    return type(x).__name__ + ":" + "".join(str(c) for c in x)
