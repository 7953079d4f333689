# pfz built-in stand-in for promptflow.contracts.multimedia: Image is bytes
# with a mime type and an optional source URL, printed as Image(<sha1[:8]>),
# as promptflow's is.
import base64
import hashlib

# Leading bytes of the image formats promptflow's type sniffing knows.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"8BPS", "image/vnd.adobe.photoshop"),
)


def _guess_image_mime(value):
    head = bytes(value[:32])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    return None


class PFBytes(bytes):
    """bytes with a mime type and the URL they came from."""

    def __new__(cls, value, *args, **kwargs):
        return super().__new__(cls, value)

    def __init__(self, value, mime_type, source_url=None):
        super().__init__()
        self._hash = hashlib.sha1(value).hexdigest()[:8]
        self._mime_type = mime_type.lower()
        self._source_url = source_url

    @property
    def source_url(self):
        return self._source_url

    def to_base64(self, with_type=False):
        encoded = base64.b64encode(self).decode("utf-8")
        if with_type:
            return "data:%s;base64,%s" % (self._mime_type, encoded)
        return encoded


class Image(PFBytes):
    """An image: its mime type is sniffed from the bytes when not given
    ("image/*" when they are no known image format)."""

    def __init__(self, value, mime_type=None, source_url=None):
        if mime_type is None:
            mime_type = _guess_image_mime(value) or "image/*"
        super().__init__(value, mime_type, source_url)

    def __str__(self):
        return "Image(%s)" % self._hash

    def __repr__(self):
        return "Image(%s)" % self._hash

    def serialize(self, encoder=None):
        if encoder is None:
            return self.__str__()
        return encoder(self)


class Text(str):
    def __new__(cls, value, annotations=None):
        obj = str.__new__(cls, value)
        obj._annotations = annotations
        return obj

    @classmethod
    def deserialize(cls, data):
        text = data.get("text", "")
        if isinstance(text, dict):
            return cls(value=text.get("value", ""), annotations=text.get("annotations", []))
        return cls(value=text)

    def serialize(self):
        if self._annotations is None:
            return {"type": "text", "text": self}
        return {"type": "text", "text": {"value": self, "annotations": self._annotations}}


__all__ = ["PFBytes", "Image", "Text"]
