import datetime

from promptflow.core import tool


class Thing:
    pass


@tool
def make(kind: str):
    if kind == "raise":
        raise RuntimeError("asked to fail")
    if kind == "set":
        return {1, 2}
    if kind == "datetime":
        return datetime.datetime(2024, 1, 2, 3, 4, 5)
    if kind == "object":
        return Thing()
    if kind == "nan":
        return float("nan")
    if kind == "inf":
        return {"pos": float("inf"), "neg": float("-inf")}
    if kind == "bigint":
        return [2**63, -(2**63) - 1, 2**70]
    if kind == "tuple":
        return (1, "a")
    if kind == "float":
        return [1.0, 0.1, 1e100, 1e-7, 5e-324]
    if kind == "generator_in_dict":
        return {"g": (c for c in "ab")}
    if kind == "text":
        return "héllo 日本 \u2028 \"quoted\""
    return kind
