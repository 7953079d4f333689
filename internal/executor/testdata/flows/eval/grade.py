from promptflow.core import tool


@tool
def grade(prediction: str, question: str, groundtruth: str) -> str:
    return "%s:%s" % (question, "Correct" if prediction == groundtruth else "Incorrect")
