from promptflow.core import tool


@tool
def greet(name: str, greeting: str = "Hello") -> str:
    name = name.strip() or "stranger"
    return f"{greeting}, {name}!"
