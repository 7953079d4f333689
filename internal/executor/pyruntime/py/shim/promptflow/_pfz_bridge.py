# pfz's bridge from the built-in promptflow to pfz itself: during a call, code
# of the built-in promptflow (Prompty) can ask pfz for what only pfz has
# (the connections, the model client). The worker installs the callback and
# its Jinja2 renderer.
_callback = None
_renderer = None


def set_callback(fn):
    global _callback
    _callback = fn


def set_renderer(fn):
    """The worker's Jinja2 renderer, the one prompt and llm nodes use."""
    global _renderer
    _renderer = fn


def render(text, inputs):
    if _renderer is None:
        raise RuntimeError("no template renderer: the worker did not install one")
    return _renderer(text, inputs)


def call(name, args):
    if _callback is None:
        raise RuntimeError(
            "%s works only while pfz runs a flow (a call of a node or flex entry), "
            "not when a module is imported" % name.split(".")[0]
        )
    return _callback(name, args)
