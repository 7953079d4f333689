from promptflow.core import tool


@tool
def explain(review: str) -> str:
    return "complaint: " + str(review)
