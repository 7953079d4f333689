from promptflow.core import tool


@tool
def count_up(word: str):
    yield from range(len(word))
