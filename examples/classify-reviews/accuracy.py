from typing import List

from promptflow import log_metric, tool


@tool
def accuracy(sentiments: List[str], labels: List[str]) -> dict:
    labelled = [(s, l) for s, l in zip(sentiments, labels) if l]
    correct = sum(1 for s, l in labelled if s == l)
    acc = round(correct / len(labelled), 3) if labelled else 0.0
    log_metric("accuracy", acc)
    log_metric("labelled_lines", len(labelled))
    for name in ("positive", "negative", "neutral"):
        log_metric(f"share_{name}", round(sentiments.count(name) / max(1, len(sentiments)), 3))
    return {"accuracy": acc, "labelled_lines": len(labelled)}
