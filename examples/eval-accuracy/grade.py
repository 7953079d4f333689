from promptflow.core import tool


@tool
def grade(prediction: str, groundtruth: str) -> str:
    return "Correct" if prediction.strip().lower() == groundtruth.strip().lower() else "Incorrect"
