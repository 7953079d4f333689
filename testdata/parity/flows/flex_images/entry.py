import os

from promptflow.contracts.multimedia import Image

RED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "red.png")


def _describe(value):
    if isinstance(value, dict) and len(value) == 1:
        key, payload = next(iter(value.items()))
        if key.endswith(";path"):
            return "%s %s absolute=%s exists=%s" % (key, os.path.basename(payload), os.path.isabs(payload), os.path.exists(payload))
        return "%s %d chars" % (key, len(payload))
    return type(value).__name__


def describe(image, several: list, name: str = "x"):
    with open(RED, "rb") as f:
        made = Image(f.read(), mime_type="image/png")
    return {
        "image": _describe(image),
        "several": [_describe(v) for v in several],
        "made": made,
        "list": [name, made, {"nested": made}],
    }
