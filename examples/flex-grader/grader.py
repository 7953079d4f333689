from dataclasses import dataclass

from promptflow.tracing import trace


@dataclass
class Grade:
    correct: bool
    answer: str


class Grader:
    """Grades an answer against the expected one."""

    def __init__(self, ignore_case: bool):
        self.ignore_case = ignore_case

    @trace
    def __call__(self, answer: str, expected: str) -> Grade:
        a, e = answer.strip(), expected.strip()
        if self.ignore_case:
            a, e = a.lower(), e.lower()
        return Grade(correct=a == e, answer=answer)

    def __aggregate__(self, results: list) -> dict:
        correct = sum(1 for r in results if r.correct)
        return {"accuracy": round(correct / len(results), 3), "correct": correct}
