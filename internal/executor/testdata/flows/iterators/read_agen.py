from promptflow.core import tool


@tool
async def read_agen(x) -> str:
    first = None
    async for c in x:
        first = c
        break
    return type(x).__name__ + ":" + str(first)
