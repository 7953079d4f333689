from promptflow.core import tool


async def _ag():
    yield 1


@tool
def hold(word: str) -> dict:
    return {"a": iter([word]), "b": _ag(), "c": map(str, word)}
