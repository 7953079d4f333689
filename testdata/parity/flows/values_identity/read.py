from promptflow.core import tool


@tool
def read(d: dict, t, data: dict) -> str:
    # repr() shows dict order and tuples; the generator is consumed here.
    shown = {k: v for k, v in d.items() if k != "upper"}
    return "%r | %s %s %s | %r | %r | %s:%s" % (
        shown, type(t).__name__, type(d["mid"]).__name__, type(d["alpha"]["x"]).__name__, t, data,
        type(d["upper"]).__name__, "".join(d["upper"]))
