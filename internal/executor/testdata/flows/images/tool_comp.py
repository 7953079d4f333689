from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def composite(image: Image, other: Image):
    return {"list": [image, other], "nested": {"img": image, "text": "x"}}
