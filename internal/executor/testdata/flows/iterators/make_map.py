from promptflow.core import tool


@tool
def make_map(word: str):
    return map(str.upper, word)
