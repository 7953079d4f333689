# pfz built-in stand-in for promptflow's @tool decorator and ToolProvider.
# The decorator only marks the function (attribute "__tool", as promptflow
# does) so the pfz worker can find the entry point of a tool file.
def tool(func=None, *, name=None, description=None, type=None, input_settings=None,
         streaming_option_parameter=None, **kwargs):
    def mark(f):
        setattr(f, "__tool", None)
        setattr(f, "__name", name)
        setattr(f, "__description", description)
        setattr(f, "__type", type)
        return f

    if func is not None:
        return mark(func)
    return mark


class ToolProvider:
    """Base class of class-based tools; __init__ receives the node's init inputs."""

    def __init__(self, *args, **kwargs):
        pass


__all__ = ["tool", "ToolProvider"]
