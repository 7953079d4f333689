from promptflow.core import tool


@tool
def echo(i, d, s):
    return {"i": i, "ti": type(i).__name__, "d": d, "td": type(d).__name__, "s": s, "ts": type(s).__name__}
