import os
import sys

from promptflow.contracts.multimedia import Image
from promptflow.contracts.types import AssistantDefinition
from promptflow.core import tool
from promptflow.tracing import ThreadPoolExecutorWithContext, start_trace, trace

LOADED_AS = __name__
IN_SYS_MODULES = __name__ in sys.modules
MAIN_BLOCK_RAN = False

if __name__ == "__main__":
    MAIN_BLOCK_RAN = True


@trace
def double(x):
    return x * 2


@trace
async def triple(x):
    return x * 3


@tool
def probe(n: int) -> dict:
    start_trace(collection="pfz-probe")
    png = Image(b"\x89PNG\r\n\x1a\n" + bytes(range(16)))
    unknown = Image(b"plain bytes")
    given = Image(b"\xff\xd8\xffjpeg", mime_type="IMAGE/JPEG", source_url="http://example.test/a.jpg")
    assistant = AssistantDefinition.deserialize({"model": "gpt", "instructions": "be brief"})
    import asyncio

    with ThreadPoolExecutorWithContext(max_workers=2) as pool:
        pooled = pool.submit(double, n).result()
    return {
        "name": LOADED_AS,
        "in_sys_modules": IN_SYS_MODULES,
        "main_block_ran": MAIN_BLOCK_RAN,
        "file_is_abs": os.path.isabs(__file__),
        "file_base": os.path.basename(__file__),
        "file_dir_has_flow": os.path.isfile(os.path.join(os.path.dirname(__file__), "flow.dag.yaml")),
        "double": double(n),
        "triple": asyncio.run(triple(n)),
        "pooled": pooled,
        "png": [str(png), repr(png), png._mime_type, png.to_base64(with_type=True), png.source_url, isinstance(png, bytes)],
        "unknown": [str(unknown), unknown._mime_type],
        "given": [given._mime_type, given.source_url, len(given)],
        "assistant": assistant.serialize(),
        "assistant_invoker": assistant._tool_invoker,
    }
