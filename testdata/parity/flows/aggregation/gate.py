from promptflow.core import tool


@tool
def gate(answer: str) -> str:
    return "gated " + answer
