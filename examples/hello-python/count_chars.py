from promptflow.core import tool


@tool
def count_chars(text: str) -> int:
    return len(text)
