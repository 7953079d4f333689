from promptflow.core import tool


@tool
def make_keys(word: str) -> dict:
    return {2: word, 1.5: "f", True: "t", None: "n", "s": [{3: "x"}]}
