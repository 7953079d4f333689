import asyncio

from promptflow.core import tool
from promptflow.tracing import trace


@trace
def shout(text: str) -> str:
    if text == "fail":
        raise ValueError("traced failure")
    return text.upper()


@trace
async def whisper(text: str) -> str:
    return text.lower()


@tool
def traced(text: str) -> str:
    return shout(text) + "/" + asyncio.run(whisper(text))
