from promptflow.core import tool


def _upper(word):
    yield from word.upper()


@tool
def make(data: dict, word: str) -> dict:
    # Keys out of order, nested dicts, tuples, the data's dict, and a
    # generator inside the dict.
    return {"zeta": 1, "alpha": {"y": 1, "x": (1, 2)}, "mid": (3, "a"), "one": (word,),
            "fromdata": data, "upper": _upper(word)}
