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


# Role escaping (promptflow's: a role line such as "system:" inside a flow
# input must not start a chat message) is done by pfz before it asks for a
# render (internal/prompty Escape, one implementation for prompt, llm and
# prompty): render_prompt gets the inputs and, when roles were found, the
# escaped inputs, and renders what the node needs.


class ChatInputList(list):
    """A list input of a chat prompt for the tools that convert lists (Azure
    OpenAI chat, vision): printed as its items one per line, as promptflow's
    ChatInputList."""

    def __str__(self):
        return "\n".join(map(str, self))


def _chat_lists(value):
    """value with every list, also inside dicts, a ChatInputList."""
    if isinstance(value, dict):
        return {k: _chat_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return ChatInputList(_chat_lists(v) for v in value)
    return value


def _image_urls(value, urls=None):
    """{printed image: image_url} for every Image among value (vision tools:
    its source URL, else a data: URL of its bytes)."""
    if urls is None:
        urls = {}
    if isinstance(value, bytes) and hasattr(value, "to_base64") and hasattr(value, "_mime_type"):
        url = getattr(value, "source_url", None)
        urls[str(value)] = url or "data:%s;base64,%s" % (value._mime_type, value.to_base64())
    elif isinstance(value, dict):
        for v in value.values():
            _image_urls(v, urls)
    elif isinstance(value, list):
        for v in value:
            _image_urls(v, urls)
    return urls


def render_prompt(msg):
    """A prompt or llm node's render: {"text": ..., "escaped": ..., "images": ...}.

    msg: template, inputs, escaped (the inputs with role words escaped, when
    pfz found any), llm, chat_list (lists are ChatInputLists: Azure OpenAI
    chat and vision tools), images (return the images among the inputs). A
    prompt node's text is the plain render, "escaped" its escaped render,
    kept for the llm nodes it feeds; an llm node's text is the escaped
    render. Image inputs arrive as Image objects (the worker loads them),
    printed as promptflow prints them: Image(<sha1 prefix>).
    """
    text, inputs = msg["template"], dict(msg.get("inputs") or {})
    escaped = msg.get("escaped")
    if msg.get("chat_list"):
        inputs = _chat_lists(inputs)
        if escaped is not None:
            escaped = _chat_lists(escaped)
    if msg.get("llm"):
        out = {"text": render(text, escaped if escaped is not None else inputs)}
        if msg.get("images"):
            out["images"] = _image_urls(inputs)
        return out
    out = {"text": render(text, inputs)}
    if escaped is not None:
        out["escaped"] = render(text, escaped)
    return out
