from promptflow.core import tool


@tool
def read_dict(d: dict) -> str:
    return d["word"] + ":" + type(d["upper"]).__name__ + ":" + "".join(d["upper"])
