from promptflow.core import tool
@tool
def read(x) -> str:
    return type(x).__name__ + ":" + str(next(x, None))
