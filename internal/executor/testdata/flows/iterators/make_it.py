from promptflow.core import tool


@tool
def make_it(word: str):
    return iter(list(word))
