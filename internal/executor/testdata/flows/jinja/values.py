from promptflow.core import tool


@tool
def values(n: int) -> dict:
    # Values a python node hands to a template: a tuple, a dict built in a
    # non-sorted order, a list holding None, an integer past 64 bits.
    return {
        "pair": (n, n + 1),
        "order": {"zeta": 1, "alpha": 2, "mid": 3},
        "holes": [1, None, "x"],
        "big": 2 ** 70 + n,
        "nothing": None,
    }
