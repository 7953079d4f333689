from promptflow.core import tool


@tool
def letters(word: str):
    for ch in word:
        yield ch + "-"
