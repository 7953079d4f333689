from promptflow.core import tool


@tool
def classify(review: str, prompt: str) -> dict:
    s = "negative" if "bad" in review else "positive"
    return {"sentiment": s, "prompt_len": len(prompt)}
