from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def make(image: Image, n: int):
    return Image(bytes(image), mime_type="image/png")


