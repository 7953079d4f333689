from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def inspect_image(image: Image, several: list) -> str:
    return f"{type(image).__name__} {image._mime_type} {len(bytes(image))} bytes; " + ", ".join(type(x).__name__ for x in several)
