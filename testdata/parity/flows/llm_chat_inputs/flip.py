from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def flip(image: Image) -> Image:
    return Image(bytes(image)[::-1][::-1], mime_type="image/png")
