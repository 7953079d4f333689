from promptflow.core import tool


@tool
def take_one(x) -> str:
    return type(x).__name__ + ":" + str(next(x, None))
