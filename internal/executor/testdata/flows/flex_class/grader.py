import os
from dataclasses import dataclass

from promptflow.core import AzureOpenAIModelConfiguration, log_metric

CREATED = []


@dataclass
class Result:
    answer: str
    correct: bool


class Grader:
    def __init__(self, weight: int, suffix: str, model: AzureOpenAIModelConfiguration = None):
        CREATED.append(os.getpid())
        self.weight = weight
        self.suffix = suffix
        self.model = model

    def __call__(self, question: str, n: int = 2) -> Result:
        if question == "boom":
            raise ValueError("cannot grade boom")
        print("grading", question)
        log_metric("seen", 1)
        ans = question.upper() + self.suffix * n
        if self.model is not None:
            ans += " " + self.model.azure_endpoint + " " + self.model.api_key
        return Result(answer=ans, correct=len(question) > 3)

    def __aggregate__(self, results):
        kinds = sorted({type(r).__name__ for r in results})
        return {"accuracy": sum(1 for r in results if r["correct"]) * self.weight / len(results),
                "kinds": ",".join(kinds), "instances": len(CREATED)}
