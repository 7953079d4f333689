# pfz's bridge from the built-in promptflow to pfz itself: during a call, code
# of the built-in promptflow (Prompty) can ask pfz for what only pfz has
# (the connections, the model client). The worker installs the callback.
_callback = None


def set_callback(fn):
    global _callback
    _callback = fn


def call(name, args):
    if _callback is None:
        raise RuntimeError(
            "%s works only while pfz runs a flow (a call of a node or flex entry), "
            "not when a module is imported" % name.split(".")[0]
        )
    return _callback(name, args)
