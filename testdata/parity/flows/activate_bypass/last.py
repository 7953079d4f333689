from promptflow.core import tool


@tool
def last(a="a-default", b="b-default") -> str:
    return f"a={a!r} b={b!r}"
