from promptflow.core import tool
@tool
def make_gen(word: str):
    for c in word:
        yield c
