# pfz image values: promptflow hands a python tool an Image object for each
# image reference among its inputs ({"data:image/png;base64": ...},
# {"data:image/png;path": ...}, {"data:image/png;url": ...}, also inside
# lists and dicts), and pfz does the same; Image outputs travel back to pfz as
# {"data:<mime>;base64": ...} and are written to the run's folder there.
import base64
import os
import re

_REF = re.compile(r"^data:(image/[^;]+);(base64|path|url)$")


def image_ref(value):
    """(mime, kind, payload) when value is an image reference, else None."""
    if isinstance(value, dict) and len(value) == 1:
        key, payload = next(iter(value.items()))
        m = _REF.match(key) if isinstance(key, str) else None
        if m and isinstance(payload, str):
            return m.group(1), m.group(2), payload
    return None


def load(value, base_dir):
    """value with every image reference replaced by an Image."""
    ref = image_ref(value)
    if ref is not None:
        return _image(ref, base_dir)
    if isinstance(value, list):
        return [load(v, base_dir) for v in value]
    if isinstance(value, dict):
        return {k: load(v, base_dir) for k, v in value.items()}
    return value


def _image(ref, base_dir):
    from promptflow.contracts.multimedia import Image

    mime, kind, payload = ref
    given = None if mime == "image/*" else mime
    if kind == "base64":
        return Image(base64.b64decode(payload), mime_type=given)
    if kind == "path":
        path = payload if os.path.isabs(payload) else os.path.join(base_dir, payload)
        with open(path, "rb") as f:
            return Image(f.read(), mime_type=given)
    import urllib.request

    with urllib.request.urlopen(payload, timeout=60) as resp:
        return Image(resp.read(), mime_type=given, source_url=payload)


def dump(o):
    """The JSON form of an Image (any PFBytes), or None for other values."""
    if isinstance(o, bytes) and hasattr(o, "to_base64") and hasattr(o, "_mime_type"):
        return {"data:%s;base64" % o._mime_type: o.to_base64()}
    return None
