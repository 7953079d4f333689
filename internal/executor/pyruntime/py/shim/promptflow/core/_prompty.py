# pfz built-in stand-in for promptflow.core.Prompty: a .prompty file called
# from flow code. pfz reads the file, resolves its inputs and connection,
# splits the rendered prompt into messages and calls the model (the same code
# as a prompty flow); this class only renders the template with the
# session's Jinja2 in between.
import dataclasses
import os

from promptflow import _pfz_bridge

PROMPTY_EXTENSION = ".prompty"


class UserErrorException(Exception):
    pass


def _configuration_dict(conf):
    """A model configuration object given as an override, as a dict."""
    if dataclasses.is_dataclass(conf) and not isinstance(conf, type):
        kind = {"AzureOpenAIModelConfiguration": "azure_openai", "OpenAIModelConfiguration": "openai"}.get(
            type(conf).__name__)
        d = {k: v for k, v in dataclasses.asdict(conf).items() if v is not None}
        if kind and "connection" not in d:
            d["type"] = kind
        return d
    return conf


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(_configuration_dict(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _render(template, inputs):
    # The worker's renderer: Jinja2 with promptflow's settings, as prompt nodes.
    return _pfz_bridge.render(template, inputs)


class Prompty:
    """A prompty file as a function: Prompty.load(source=...)(**inputs)."""

    def __init__(self, path, model=None, **kwargs):
        self.path = os.path.abspath(os.fspath(path))
        self._model = _plain(model) if model else None
        self._extra = _plain(kwargs) if kwargs else None
        self._name = os.path.splitext(os.path.basename(self.path))[0]

    @classmethod
    def load(cls, source, **kwargs):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise UserErrorException("Source %s does not exist" % os.path.abspath(path).replace(os.sep, "/"))
        if os.path.splitext(path)[1] != PROMPTY_EXTENSION:
            raise UserErrorException("Source must be a file with .prompty extension.")
        return cls(path=path, **kwargs)

    def _prepare(self, kwargs):
        prep = _pfz_bridge.call("prompty.prepare", {
            "path": self.path, "model": self._model, "extra": self._extra, "inputs": kwargs})
        try:
            return prep, _render(prep["template"], prep["inputs"])
        except BaseException:
            _pfz_bridge.call("prompty.call", {"token": prep["token"], "abort": True})
            raise

    def __call__(self, *args, **kwargs):
        if args:
            raise UserErrorException("Prompty can only be called with keyword arguments.")
        prep, rendered = self._prepare(kwargs)
        out = _pfz_bridge.call("prompty.call", {"token": prep["token"], "rendered": rendered})
        if "stream" in out:
            return (text for text in out["stream"])
        return out["output"]

    def render(self, *args, **kwargs):
        if args:
            raise UserErrorException("Prompty can only be rendered with keyword arguments.")
        prep, rendered = self._prepare(kwargs)
        return str(_pfz_bridge.call("prompty.call", {"token": prep["token"], "rendered": rendered, "dry": True}))


class AsyncPrompty(Prompty):
    """Prompty called with await."""

    async def __call__(self, *args, **kwargs):
        return Prompty.__call__(self, *args, **kwargs)


__all__ = ["Prompty", "AsyncPrompty"]
