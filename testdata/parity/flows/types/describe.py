from promptflow.core import tool


def _show(v):
    return f"{type(v).__name__}:{v!r}"


@tool
def describe(s: str, i: int, d: float, b: bool, l: list, o: dict) -> dict:
    return {"s": _show(s), "i": _show(i), "d": _show(d), "b": _show(b), "l": _show(l), "o": _show(o)}
