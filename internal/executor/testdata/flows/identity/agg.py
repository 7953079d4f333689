from promptflow.core import tool


@tool
def agg(ds: list, ts: list, datas: list):
    return repr((ds, ts, datas)) + " types " + repr([type(x).__name__ for x in ts]) + repr([type(d["mid"]).__name__ for d in ds])
