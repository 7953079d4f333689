from promptflow.core import tool


@tool
def show(name: str, count: int, ratio: float, flag: bool, items: list, extra: dict, unmapped: str) -> str:
    return repr((name, count, ratio, flag, items, extra, unmapped))
