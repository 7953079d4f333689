from promptflow.core import tool


@tool
def report(acc: float) -> str:
    return "accuracy=%.2f" % acc
