from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def several(image: Image, name: str) -> list:
    return [name, image, {"nested": image}]
