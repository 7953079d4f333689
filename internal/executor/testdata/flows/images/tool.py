from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def passthrough(image: Image, n: int) -> dict:
    return {"type": type(image).__name__, "str": str(image), "mime": image._mime_type, "len": len(image), "src": image.source_url}


