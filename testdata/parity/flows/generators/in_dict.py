from promptflow.core import tool


def _gen(word):
    yield from word.upper()


@tool
def in_dict(word: str) -> dict:
    return {"word": word, "upper": _gen(word)}
