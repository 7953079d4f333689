from promptflow.core import tool


@tool
def greet(name: str) -> str:
    print("greeting", name)
    return "Hello, " + name
