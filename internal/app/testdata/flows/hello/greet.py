from promptflow.core import tool


@tool
def greet(name: str) -> str:
    return "Hello, " + name
