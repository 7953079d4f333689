# pfz prompt rendering: prompt and llm node templates are rendered by the
# session's own Jinja2, with the settings promptflow uses (trim_blocks and
# keep_trailing_newline on, the sandboxed environment unless
# PF_USE_SANDBOX_FOR_JINJA=false), so every filter, method and value prints
# exactly as it does under promptflow.
import os
import re
import uuid

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


def render(text, inputs, mapping=None):
    t = _template(text)
    try:
        return t.render(**inputs)
    except Exception as e:  # a failing filter or undefined attribute fails the node, as in promptflow
        raise JinjaTemplateError(
            "Failed to render jinja template: %s: %s. Please modify your prompt to fix the issue."
            % (type(e).__name__, _unescape(str(e), mapping or {}))
        ) from None


# Role escaping, as promptflow's prompt and llm tools do it: a role line
# ("system:", "# user:") inside a flow input, or inside the flow-input part
# of an upstream prompt node's output, must not start a chat message. Each
# role word found is mapped to a fresh uuid; the inputs are rendered with the
# word replaced by its uuid, and the parsed messages get the word back.
_ROLE_LINE = re.compile(r"^\s*#?\s*(system|user|assistant|function|tool)\s*:\s*\n", re.IGNORECASE | re.MULTILINE)


class ChatInputList(list):
    """A list input of a chat prompt for the tools that convert lists (Azure
    OpenAI chat, vision): printed as its items one per line, and its items'
    roles escaped, as promptflow's ChatInputList."""

    def __str__(self):
        return "\n".join(map(str, self))


def _chat_lists(value):
    """value with every list, also inside dicts, a ChatInputList."""
    if isinstance(value, dict):
        return {k: _chat_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return ChatInputList(_chat_lists(v) for v in value)
    return value


def _find_roles(value, mapping):
    if isinstance(value, ChatInputList):
        for v in value:
            _find_roles(v, mapping)
    elif isinstance(value, dict):
        for v in value.values():
            _find_roles(v, mapping)
    elif isinstance(value, str):
        for role in _ROLE_LINE.findall(value):
            if role not in mapping.values():
                mapping[str(uuid.uuid4())] = role


def _escape(value, mapping):
    if isinstance(value, ChatInputList):
        return ChatInputList(_escape(v, mapping) for v in value)
    if isinstance(value, dict):
        return {k: _escape(v, mapping) for k, v in value.items()}
    if isinstance(value, str):
        for uid, role in mapping.items():
            value = value.replace(role, uid)
    return value


def _unescape(value, mapping):
    for uid, role in mapping.items():
        value = value.replace(uid, role)
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
    """A prompt or llm node's render: {"text": ..., "escaped": ..., "mapping": ...}.

    msg: template, inputs, escape (names of inputs that are flow inputs),
    results (name -> {"escaped", "mapping"} of upstream prompt outputs), llm,
    chat_list (lists are ChatInputLists: Azure OpenAI chat and vision tools).
    A prompt node's text is the plain render, "escaped" its render with the
    roles escaped (when there are any), kept for the llm nodes it feeds. An
    llm node's text is the escaped render; pfz unescapes the parsed messages.
    Image inputs arrive as Image objects (the worker loads them), printed
    as promptflow prints them: Image(<sha1 prefix>).
    """
    text, inputs = msg["template"], dict(msg.get("inputs") or {})
    if msg.get("chat_list"):
        inputs = _chat_lists(inputs)
    names = set(msg.get("escape") or [])
    results = msg.get("results") or {}
    mapping = {}
    for r in results.values():
        mapping.update(r.get("mapping") or {})
    for k, v in inputs.items():
        if k in names:
            _find_roles(v, mapping)
    escaped_inputs = {}
    for k, v in inputs.items():
        if k in results and results[k].get("mapping"):
            escaped_inputs[k] = results[k]["escaped"]
        elif k in names:
            escaped_inputs[k] = _escape(v, mapping)
        else:
            escaped_inputs[k] = v
    if msg.get("llm"):
        out = {"text": render(text, escaped_inputs, mapping), "mapping": mapping}
        if msg.get("images"):
            out["images"] = _image_urls(inputs)
        return out
    out = {"text": render(text, inputs)}
    if mapping:
        out["escaped"] = render(text, escaped_inputs, mapping)
        out["mapping"] = mapping
    return out
