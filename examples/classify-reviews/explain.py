from promptflow.core import tool


@tool
def explain(review: str, score: float) -> str:
    return f"negative review (score {score}): {review[:60]}"
