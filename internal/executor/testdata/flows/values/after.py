from promptflow.core import tool


@tool
def after(kind, without_default, with_default="the default"):
    return {"with_default": with_default, "without_default": without_default}
