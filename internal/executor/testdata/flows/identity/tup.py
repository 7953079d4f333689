from promptflow.core import tool


@tool
def tup():
    return (1, "a", (2, 3))
