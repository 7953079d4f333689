from promptflow.tracing import trace


@trace
def answer(question: str, times: int = 2) -> dict:
    return {"answer": (question + " ") * times, "length": len(question)}
