import asyncio


async def greet(name: str, times: int = 1, shout: bool = False):
    await asyncio.sleep(0)
    s = ("hello " + name) * times
    if shout:
        s = s.upper()
    yield s
    yield "!"
