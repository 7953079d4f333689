from promptflow.core import tool


@tool
def first(stream) -> str:
    # Reads one item: the flow output of the generator gets the rest.
    return type(stream).__name__ + ":" + str(next(stream, None))
