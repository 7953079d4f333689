from promptflow.core import tool


@tool
def step(x: int) -> int:
    return x + 1
