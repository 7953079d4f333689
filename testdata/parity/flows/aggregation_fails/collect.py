from promptflow.core import log_metric, tool


@tool
def collect(values: list) -> float:
    log_metric("before_failure", len(values))
    return sum(values) / 0
