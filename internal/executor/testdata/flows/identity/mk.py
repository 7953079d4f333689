from promptflow.core import tool


def _g(w):
    yield from w.upper()


@tool
def mk(data: dict, word: str):
    return {"zeta": 1, "alpha": {"y": 1, "x": (1, 2)}, "mid": (3, "a"), "fromdata": data, "g": _g(word)}
