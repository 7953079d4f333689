# pfz prompt rendering: prompt and llm node templates are rendered by the
# session's own Jinja2, with the settings promptflow uses (trim_blocks and
# keep_trailing_newline on, the sandboxed environment unless
# PF_USE_SANDBOX_FOR_JINJA=false), so every filter, method and value prints
# exactly as it does under promptflow.
import os

_compiled = {}  # (template text, sandboxed) -> jinja2 Template
_MAX_CACHED = 256


class JinjaTemplateError(Exception):
    """A template failed to compile or render (promptflow's error name)."""


class JinjaMissingError(Exception):
    """The session has no Jinja2."""


def _jinja():
    try:
        import jinja2
        from jinja2 import sandbox
    except ImportError as e:
        raise JinjaMissingError(
            "prompt and llm nodes are rendered with Jinja2, which this session does not have (%s); "
            "pfz installs it when it builds a session: `pfz session reset` with network access, "
            "or add jinja2 to the flow's requirements" % e
        ) from None
    return jinja2, sandbox


def _sandboxed():
    return os.environ.get("PF_USE_SANDBOX_FOR_JINJA", "true").lower() != "false"


def _template(text):
    sandboxed = _sandboxed()
    key = (text, sandboxed)
    t = _compiled.get(key)
    if t is not None:
        return t
    jinja2, sandbox = _jinja()
    try:
        if sandboxed:
            env = sandbox.SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True)
            t = env.from_string(text)
        else:
            t = jinja2.Template(text, trim_blocks=True, keep_trailing_newline=True)
    except jinja2.TemplateSyntaxError as e:
        raise JinjaTemplateError(
            "Failed to render jinja template: TemplateSyntaxError: %s (line %s). "
            "Please modify your prompt to fix the issue." % (e.message, e.lineno)
        ) from None
    if len(_compiled) >= _MAX_CACHED:
        _compiled.clear()
    _compiled[key] = t
    return t


def check(text):
    """Compile a template; raises JinjaTemplateError on a syntax error."""
    _template(text)
    jinja2, _ = _jinja()
    return {"jinja2": getattr(jinja2, "__version__", "")}


def render(text, inputs):
    t = _template(text)
    try:
        return t.render(**inputs)
    except Exception as e:  # a failing filter or undefined attribute fails the node, as in promptflow
        raise JinjaTemplateError(
            "Failed to render jinja template: %s: %s. Please modify your prompt to fix the issue."
            % (type(e).__name__, e)
        ) from None
