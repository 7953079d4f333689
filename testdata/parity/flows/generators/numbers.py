from promptflow.core import tool


@tool
def numbers(word: str):
    yield from range(len(word))
