from promptflow.core import tool


@tool
async def make_agen(word: str):
    for c in word:
        yield c + "!"
