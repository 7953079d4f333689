from promptflow.core import tool


@tool
def seen(stripped: dict, data: dict) -> dict:
    # The keys as the node got them, and a new dict not in sorted order
    # holding the inputs' nested dicts.
    return {"stripped_keys": list(stripped), "data_keys": list(data), "repr": repr((stripped, data)),
            "zz": {"y": 1, "b": data, "a": stripped.get("alpha")}}
