from promptflow.core import tool

POSITIVE = {"great", "love", "excellent", "good", "fast", "happy", "perfect", "recommend"}
NEGATIVE = {"bad", "broken", "slow", "terrible", "refund", "poor", "disappointed", "late"}


@tool
def classify(review: str, prompt: str) -> dict:
    # A keyword model stands in for an LLM so the example runs offline; the
    # prompt is passed through to show how a prompt node feeds a python node.
    words = {w.strip(".,!?").lower() for w in review.split()}
    score = (len(words & POSITIVE) - len(words & NEGATIVE)) / max(1, len(words)) * 10
    if score > 0.2:
        sentiment = "positive"
    elif score < -0.2:
        sentiment = "negative"
    else:
        sentiment = "neutral"
    return {"sentiment": sentiment, "score": round(score, 3), "prompt_chars": len(prompt)}
