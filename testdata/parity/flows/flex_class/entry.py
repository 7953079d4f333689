class Scorer:
    def __init__(self, threshold: float, label: str = "score"):
        self.threshold = threshold
        self.label = label

    def __call__(self, value: float) -> dict:
        return {self.label: value, "passed": value >= self.threshold}

    def __aggregate__(self, line_results: list) -> dict:
        passed = [r["passed"] for r in line_results]
        return {"pass_rate": sum(passed) / len(passed), "lines": len(passed)}
