from promptflow.core import tool


@tool
def post(text: str) -> str:
    return f"[{len(text)}] {text}"
