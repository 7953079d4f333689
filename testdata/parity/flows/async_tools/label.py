import asyncio

from promptflow.core import tool


@tool
async def label(v: int) -> str:
    await asyncio.sleep(0)
    return f"square is {v}"
