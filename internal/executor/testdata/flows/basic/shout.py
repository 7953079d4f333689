from promptflow import tool


@tool
async def shout(text: str, times: int) -> dict:
    return {"text": (text.upper() + "!") * times}
