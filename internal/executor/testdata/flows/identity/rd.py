from promptflow.core import tool


@tool
def rd(d: dict, t, data: dict):
    shown = {k: v for k, v in d.items() if k != "g"}
    return "%r|%s|%s|%r|%r|%s|%s" % (shown, type(t).__name__, type(d["mid"]).__name__, t, data,
                                     type(d["g"]).__name__, "".join(d["g"]))
