from promptflow.core import tool


@tool
def pair(word: str):
    return (len(word), word, (1, 2))
