import datetime

from promptflow.core import tool


def chunks():
    yield "a"
    yield 1
    yield None


@tool
def make(kind):
    if kind == "set":
        return {1, 2}
    if kind == "datetime":
        return datetime.datetime(2024, 1, 2)
    if kind == "object":
        return object()
    if kind == "generator":
        return chunks()
    if kind == "nested_generator":
        return {"g": chunks()}
    if kind == "nan":
        return float("nan")
    if kind == "big":
        return 2 ** 70
    if kind == "float":
        return 1.0
    return kind
