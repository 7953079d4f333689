import asyncio

from promptflow.core import tool


@tool
async def square(n: int) -> int:
    await asyncio.sleep(0.01)
    if n < 0:
        raise ValueError("negative input")
    return n * n
