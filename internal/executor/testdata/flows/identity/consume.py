from promptflow.core import tool


@tool
def consume(stream) -> str:
    return type(stream).__name__ + ":" + "".join(str(x) for x in stream)
