from typing import TypedDict

from promptflow.tracing import trace


class Answer(TypedDict):
    answer: str
    length: int


@trace
def answer(question: str, times: int = 2) -> Answer:
    return {"answer": (question + " ") * times, "length": len(question)}
