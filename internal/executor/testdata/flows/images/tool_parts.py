from promptflow.core import tool


def _kind(x):
    if isinstance(x, dict):
        return {k: _kind(v) for k, v in x.items()}
    return type(x).__name__


@tool
def parts(parts: list) -> list:
    return [_kind(p) for p in parts]
