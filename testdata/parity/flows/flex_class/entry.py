from dataclasses import dataclass


@dataclass
class Scored:
    score: float
    passed: bool


class Scorer:
    def __init__(self, threshold: float, label: str = "score"):
        self.threshold = threshold
        self.label = label

    def __call__(self, value: float) -> Scored:
        return Scored(score=value, passed=value >= self.threshold)

    def __aggregate__(self, line_results: list) -> dict:
        passed = [r.passed for r in line_results]
        return {"pass_rate": sum(passed) / len(passed), "lines": len(passed), "label": self.label}
