from promptflow.core import tool


@tool
def read_keys(x) -> str:
    return repr(x)
