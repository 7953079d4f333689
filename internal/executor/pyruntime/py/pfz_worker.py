# pfz python worker: a long-lived process that imports flow tool modules once
# and calls their functions on request. Standard library only.
#
# Protocol: requests arrive as JSON lines on fd 3, responses leave as JSON
# lines on fd 4, so whatever user code prints on stdout/stderr (fd 1 and 2,
# captured line by line by pfz) can never corrupt the protocol. After each
# request the worker writes an end marker on fd 1 and fd 2 so pfz knows every
# line printed during that call has arrived.
#
#   -> {"id": 1, "op": "inspect", "source": {"path": "tool.py"}}
#   <- {"id": 1, "ok": true, "result": {"function": "f", "params": [...]}}
#   -> {"id": 2, "op": "call", "source": {...}, "inputs": {...}, "connections": {...}}
#   <- {"id": 2, "ok": true, "output": ..., "metrics": [...]}
#   <- {"id": 2, "ok": false, "error": {"type": ..., "message": ..., "traceback": ...}}
#
# Flex flows (an entry `module:function` or `module:Class`):
#   -> {"id": 3, "op": "flex_inspect", "entry": "m:f"}
#   -> {"id": 4, "op": "flex_call", "entry": "m:C", "init": {...}, "inputs": {...},
#       "connections": {...}, "init_connections": {...}, "stream": true}
#   <- {"id": 4, "chunk": "..."}            (only with "stream": one per yielded item)
#   <- {"id": 4, "ok": true, "output": {...}}
#   -> {"id": 5, "op": "flex_aggregate", "entry": "m:C", "init": {...}, "results": [...]}
import collections.abc
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import threading
import traceback
import types

END_MARK = "\x1epfz-end-%d\n"
REQ_FD, RESP_FD = 3, 4
MISSING = object()
PF_MAIN = "__pf_main__"


def _setup_paths(flow_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    # The script folder is sys.path[0]; drop it so nothing of pfz shadows
    # user or site packages.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    if flow_dir:
        sys.path.insert(0, flow_dir)
    # A real promptflow in the environment wins; pfz's stand-in goes last.
    kind = "builtin"
    try:
        if importlib.util.find_spec("promptflow") is not None:
            importlib.import_module("promptflow.core")
            kind = "real"
    except Exception:
        for name in [m for m in sys.modules if m == "promptflow" or m.startswith("promptflow.")]:
            del sys.modules[name]
    if kind == "builtin":
        sys.path.append(os.path.join(here, "shim"))
    return kind


class Worker:
    def __init__(self):
        self.req = os.fdopen(REQ_FD, "rb", buffering=1 << 16)
        self.resp = os.fdopen(RESP_FD, "wb", buffering=1 << 16)
        try:
            os.set_inheritable(REQ_FD, False)
            os.set_inheritable(RESP_FD, False)
        except OSError:
            pass
        self.modules = {}   # source key -> module or resolved package attribute
        self.tools = {}     # source key -> (callable or class, method name)
        self.instances = {}  # (source key, init json) -> instance
        self.metrics = []
        self.loop = None
        self.flow_dir = os.getcwd()
        self.cb_lock = threading.Lock()  # callbacks to pfz take turns
        self.entries = {}    # flex entry -> function or class
        self.rid = 0         # the request being served

    # ---- output

    def send(self, msg):
        # Python's own JSON: NaN and the infinities keep their spelling, big
        # ints their digits; pfz reads them back as they were.
        try:
            data = json.dumps(msg, default=_default)
        except (ValueError, TypeError, RecursionError) as e:
            if "output" not in msg:
                raise
            # A value JSON cannot hold fails the call, as promptflow fails a
            # line whose output is not JSON serializable (no str() of it).
            msg = {k: v for k, v in msg.items() if k != "output"}
            msg["ok"] = False
            msg["error"] = {"type": "FlowOutputUnserializable", "module": "pfz", "traceback": "",
                            "message": "The output value is not JSON serializable. JSON dump failed: (%s) %s"
                            % (type(e).__name__, e)}
            data = json.dumps(msg, default=_default)
        self.resp.write(data.encode("utf-8", "surrogatepass") + b"\n")
        self.resp.flush()

    def end_marks(self, rid):
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        mark = (END_MARK % rid).encode()
        os.write(1, mark)
        os.write(2, mark)

    # ---- tools

    def on_metric(self, key, value, variant_id=None):
        self.metrics.append({"name": key, "value": value, "variant_id": variant_id})

    def load(self, source):
        key = source.get("path") or source.get("tool")
        if key in self.tools:
            return key, self.tools[key]
        if source.get("path"):
            # As promptflow loads a tool file: named "__pf_main__" (so an
            # `if __name__ == "__main__"` block does not run), __file__ the
            # resolved absolute path, not entered in sys.modules.
            path = os.path.realpath(os.path.abspath(source["path"]))
            spec = importlib.util.spec_from_file_location(PF_MAIN, path)
            if spec is None or spec.loader is None:
                raise ImportError("cannot load python module from %s" % path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            entry = _find_tool(mod, path)
        else:
            entry = _resolve_package_tool(source["tool"])
        self.modules[key] = entry
        self.tools[key] = entry
        return key, entry

    def inspect_tool(self, source):
        _, (target, method) = self.load(source)
        info = {"function": getattr(target, "__name__", str(target)), "class": None, "params": [], "init_params": []}
        if method is not None:
            info["class"] = target.__name__
            info["function"] = method
            info["params"] = _params(getattr(target, method), skip_self=True)
            info["init_params"] = _params(target.__init__, skip_self=True)
        else:
            info["params"] = _params(target)
        return info

    def call(self, msg):
        key, (target, method) = self.load(msg["source"])
        inputs = _helper("pfz_media").load(dict(msg.get("inputs") or {}), self.flow_dir)
        conns = msg.get("connections") or {}
        if method is not None:
            fn_params = _signature(getattr(target, method))
            init_params = _signature(target.__init__)
            init_kwargs = {k: v for k, v in inputs.items() if k in init_params.parameters and k != "self"}
            call_kwargs = {k: v for k, v in inputs.items() if k not in init_kwargs}
            _convert(init_kwargs, init_params, conns)
            _convert(call_kwargs, fn_params, conns)
            ikey = (key, json.dumps(init_kwargs, sort_keys=True, default=str))
            inst = self.instances.get(ikey)
            if inst is None:
                inst = target(**init_kwargs)
                self.instances[ikey] = inst
            fn = getattr(inst, method)
            kwargs = call_kwargs
        else:
            fn = target
            kwargs = inputs
            _convert(kwargs, _signature(fn), conns)
        result = fn(**kwargs)
        return self.settle(result)

    def settle(self, result):
        if inspect.isawaitable(result):
            result = self.run_async(result)
        # A generator, async generator or other iterator goes on to the nodes
        # that read it as one of its kind (see _wire); a flow output joins
        # what is left of it into one string (its items through str()), as
        # promptflow does.
        return result

    def run_async(self, aw):
        if self.loop is None:
            import asyncio  # imported on first use: it costs a third of the worker's start

            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
        return self.loop.run_until_complete(aw)

    def wire(self, v):
        """v as it is sent to pfz (_wire), async iterators drained on this worker's loop."""
        return _wire(v, lambda a: self.run_async(_drain_async(a)))

    # ---- flex flows

    def flex_entry(self, entry):
        """The function or class a flex entry `module:attr` names."""
        target = self.entries.get(entry)
        if target is not None:
            return target
        mod_name, sep, attr = entry.partition(":")
        if not sep or not mod_name.strip() or not attr.strip():
            raise ValueError("the entry %r is not module:function or module:Class" % entry)
        mod_name, attr = mod_name.strip(), attr.strip()
        if mod_name.endswith(".py"):
            mod_name = mod_name[:-3].replace("/", ".").replace(os.sep, ".")
        mod = importlib.import_module(mod_name)
        target = mod
        for part in attr.split("."):
            if not hasattr(target, part):
                raise AttributeError("module %r has no attribute %r (the entry is %s)" % (mod_name, part, entry))
            target = getattr(target, part)
        if not callable(target):
            raise TypeError("the entry %s is a %s, not a function or class" % (entry, type(target).__name__))
        self.entries[entry] = target
        return target

    def flex_inspect(self, msg):
        target = self.flex_entry(msg["entry"])
        if inspect.isclass(target):
            call = getattr(target, "__call__", None)
            if call is None or call is getattr(object, "__call__", None) or not inspect.isfunction(call):
                raise TypeError("the class %s has no __call__ method; a flex class entry is called once per line"
                                % target.__name__)
            agg = getattr(target, "__aggregate__", None)
            return {"kind": "class", "name": target.__name__,
                    "params": _flex_params(call, skip_self=True),
                    "init_params": _flex_params(target.__init__, skip_self=True) if target.__init__ is not object.__init__ else [],
                    "aggregate": callable(agg),
                    "generator": _is_gen(call)}
        fn = target
        return {"kind": "function", "name": getattr(fn, "__name__", str(fn)), "params": _flex_params(fn),
                "init_params": [], "aggregate": False, "generator": _is_gen(fn)}

    def flex_instance(self, msg):
        """The entry's callable: the function, or this worker's instance of the class."""
        target = self.flex_entry(msg["entry"])
        if not inspect.isclass(target):
            return target, None
        init = dict(msg.get("init") or {})
        ikey = ("flex", msg["entry"], json.dumps(init, sort_keys=True, default=str))
        inst = self.instances.get(ikey)
        if inst is None:
            _flex_resolve(init, _signature(target.__init__), msg.get("init_connections") or {})
            inst = target(**init)
            self.instances[ikey] = inst
        return inst, inst

    def flex_call(self, msg):
        fn, _ = self.flex_instance(msg)
        kwargs = dict(msg.get("inputs") or {})
        _flex_resolve(kwargs, _signature(fn), msg.get("connections") or {})
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            result = self.run_async(result)
        if msg.get("stream"):
            result = self.stream(result)
        return self.settle_deep(result)

    def flex_aggregate(self, msg):
        _, inst = self.flex_instance(msg)
        if inst is None or not callable(getattr(inst, "__aggregate__", None)):
            raise TypeError("the entry %s has no __aggregate__ method" % msg["entry"])
        # As in promptflow, a dict output also reads as attributes (r.correct).
        results = [AttrDict(r) if isinstance(r, dict) else r for r in msg.get("results") or []]
        return self.settle_deep(inst.__aggregate__(results))

    def stream(self, result):
        """Send each item a generator yields as it comes; return the whole."""
        if inspect.isasyncgen(result):
            async def drain():
                out = []
                async for x in result:
                    self.send({"id": self.rid, "chunk": x})
                    out.append(x)
                return out
            items = self.run_async(drain())
        elif isinstance(result, types.GeneratorType):
            items = []
            for x in result:
                self.send({"id": self.rid, "chunk": x})
                items.append(x)
        else:
            return result
        return "".join(str(x) for x in items)

    def settle_deep(self, result):
        """Await, and consume generators (the whole output, or a dict's or dataclass's
        values) into their chunks joined as strings, as promptflow does for a flex flow."""
        if inspect.isawaitable(result):
            result = self.run_async(result)
        if isinstance(result, dict):
            return {k: self.joined(v) for k, v in result.items()}
        if dataclasses.is_dataclass(result) and not isinstance(result, type):
            return {f.name: self.joined(getattr(result, f.name)) for f in dataclasses.fields(result)}
        return self.joined(result)

    def joined(self, v):
        if inspect.isasyncgen(v):
            async def drain():
                return [x async for x in v]
            return "".join(str(x) for x in self.run_async(drain()))
        if isinstance(v, types.GeneratorType):
            return "".join(str(x) for x in v)
        return v

    # ---- main loop

    def callback(self, name, args):
        """Ask pfz for something during the current call (a prompty call):
        the request goes out on the response pipe, pfz answers on the
        request pipe. Calls from several threads take turns."""
        with self.cb_lock:
            self.send({"id": self.rid, "callback": name, "args": args})
            line = self.req.readline()
        if not line:
            raise RuntimeError("pfz went away while the worker waited for it")
        msg = json.loads(line)
        if not msg.get("ok"):
            err = msg.get("error") or {}
            raise _callback_exception(err.get("type") or "Exception", err.get("message") or "")
        return msg.get("result")

    def serve(self, info):
        self.send({"ready": True, **info})
        while True:
            line = self.req.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                continue
            _REPLAYED.clear()
            msg = json.loads(line, object_hook=_unwire) if _TAG_JSON in line else json.loads(line)
            rid = msg.get("id", 0)
            self.rid = rid
            op = msg.get("op")
            if op == "exit":
                self.end_marks(rid)
                self.send({"id": rid, "ok": True})
                return
            self.metrics = []
            reply = {"id": rid, "ok": True}
            try:
                if op == "call":
                    reply["output"] = self.wire(self.call(msg))
                elif op == "inspect":
                    reply["result"] = self.inspect_tool(msg["source"])
                elif op == "render":
                    reply["output"] = _renderer().render(msg["template"], msg.get("inputs") or {})
                elif op == "render_prompt":
                    # image references render as promptflow's Image objects print
                    for k in ("inputs", "escaped"):
                        if msg.get(k) is not None:
                            msg[k] = _helper("pfz_media").load(msg[k], self.flow_dir)
                    reply["output"] = _renderer().render_prompt(msg)
                elif op == "template":
                    reply["result"] = _renderer().check(msg["template"])
                elif op == "flex_inspect":
                    reply["result"] = self.flex_inspect(msg)
                elif op == "flex_call":
                    reply["output"] = self.flex_call(msg)
                elif op == "flex_aggregate":
                    reply["output"] = self.flex_aggregate(msg)
                elif op == "ping":
                    pass
                else:
                    raise ValueError("unknown op %r" % op)
            except BaseException as e:  # noqa: B902 - a tool's SystemExit must not end the worker
                if isinstance(e, KeyboardInterrupt):
                    raise
                reply = {"id": rid, "ok": False, "error": _error(e, msg)}
            if self.metrics:
                reply["metrics"] = self.metrics
            if _REPLAYED:
                # How far the call read each generator it was given: the
                # next reader, and a flow output, get only the rest.
                reply["consumed"] = [[gid, _read_count(n)] for gid, n in _REPLAYED]
            self.end_marks(rid)
            self.send(reply)


# Values keep their Python identity between nodes, as promptflow passes live
# objects: what JSON cannot say travels as {TAG: [kind, payload]} (pyjson's
# wire.go is the Go side). A tuple stays a tuple; a generator, an async
# generator or another iterator a node returns (alone or inside a dict or
# list) is consumed here and a node reading it gets a new one of its items
# (of the same type where Python can make one, else of a type of the same
# name), which reports how far it was read; a dict that has TAG as a key, or
# keys that are not strings (int, float, bool, None), is sent as its pairs:
# [key, value] or [json.dumps(key), value, 1].
TAG = "\x00pfz"
_TAG_JSON = b'"\\u0000pfz"'
_SCALARS = (str, int, float, bool, type(None))
_REPLAYED = []  # (generator id, [items read] or a list_iterator and its length) of the request being served
_GEN_NAME = re.compile(r"^<(?:async_)?generator object (\S+) at ")
_ITER_TYPES = {}  # type name -> a replaying iterator class of that name


def _replay(items, read):
    for x in items:
        read[0] += 1
        yield x


async def _replay_async(items, read):
    for x in items:
        read[0] += 1
        yield x


async def _drain_async(a):
    return [x async for x in a]


class _Replay:
    """An iterator over items that counts what was read (named as the type it stands for)."""

    def __init__(self, items, read):
        self._it, self._read = iter(items), read

    def __iter__(self):
        return self

    def __next__(self):
        x = next(self._it)
        self._read[0] += 1
        return x


def _replay_iter(type_name, items, read):
    if type_name == "list_iterator":
        it = iter(items)  # the real thing; __length_hint__ tells how far it was read
        return it, (it, len(items))
    cls = _ITER_TYPES.get(type_name)
    if cls is None:
        cls = type(type_name if type_name.isidentifier() else "iterator", (_Replay,), {})
        _ITER_TYPES[type_name] = cls
    return cls(items, read), None


def _wire(v, drain=None):
    if isinstance(v, _SCALARS):
        return v
    if isinstance(v, dict):
        out = {k: _wire(x, drain) for k, x in v.items()}
        # (A key of another type is left to json.dumps, which refuses it.)
        if (TAG in out or any(not isinstance(k, str) for k in out)) and all(isinstance(k, _SCALARS) for k in out):
            return {TAG: ["dict", [[k, x] if isinstance(k, str) else [json.dumps(k), x, 1] for k, x in out.items()]]}
        return out
    if isinstance(v, list):
        return [_wire(x, drain) for x in v]
    if isinstance(v, tuple):
        return {TAG: ["tuple", [_wire(x, drain) for x in v]]}
    if isinstance(v, types.GeneratorType):
        text = repr(v)  # what promptflow records: str() of the value holding it
        return {TAG: ["generator", [text, [_wire(x, drain) for x in v]]]}
    if isinstance(v, collections.abc.AsyncIterator) and drain is not None:
        text = repr(v)
        return {TAG: ["async_generator", [text, [_wire(x, drain) for x in drain(v)]]]}
    if isinstance(v, collections.abc.Iterator):
        text = repr(v)
        return {TAG: ["iterator", [text, [_wire(x, drain) for x in v], None, type(v).__name__]]}
    return v


def _unwire(d):
    if len(d) == 1 and TAG in d:
        kind, payload = d[TAG]
        if kind == "tuple":
            return tuple(payload)
        if kind in ("generator", "async_generator", "iterator"):
            read = [0]
            gid = payload[2] if len(payload) > 2 else None
            if kind == "iterator":
                g, probe = _replay_iter(payload[3] if len(payload) > 3 else "iterator", payload[1], read)
                if gid is not None:
                    _REPLAYED.append((gid, probe or read))
                return g
            if gid is not None:
                _REPLAYED.append((gid, read))
            g = (_replay_async if kind == "async_generator" else _replay)(payload[1], read)
            m = _GEN_NAME.match(payload[0])
            if m:  # it prints as the generator it stands for
                g.__name__ = g.__qualname__ = m.group(1)
            return g
        if kind == "dict":
            return dict((json.loads(p[0]), p[1]) if len(p) > 2 else (p[0], p[1]) for p in payload)
    return d


def _read_count(n):
    """How many items a replayed value was read: a [count], or (list_iterator, length)."""
    if isinstance(n, tuple):
        return n[1] - n[0].__length_hint__()
    return n[0]


_CALLBACK_ERRORS = {}


def _callback_exception(type_name, message):
    """An exception named as pfz named it (MissingRequiredInputError, …)."""
    cls = _CALLBACK_ERRORS.get(type_name)
    if cls is None:
        base = Exception
        try:
            from promptflow.exceptions import UserErrorException as base  # noqa: N813
        except Exception:
            pass
        cls = type(type_name if type_name.isidentifier() else "PfzError", (base,), {"__module__": "promptflow.exceptions"})
        _CALLBACK_ERRORS[type_name] = cls
    return cls(message)


_HELPERS = {}


def _helper(name):
    """pfz_<name>.py beside this file (its folder is not on sys.path)."""
    mod = _HELPERS.get(name)
    if mod is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
        spec = importlib.util.spec_from_file_location("_" + name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _HELPERS[name] = mod
    return mod


def _renderer():
    return _helper("pfz_render")


class AttrDict(dict):
    """A dict whose keys also read as attributes, as promptflow hands line outputs to __aggregate__."""

    def __getattr__(self, item):
        if item in self:
            return self[item]
        return super().__getattribute__(item)


def _is_gen(fn):
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


# Flow value types of Python annotations, as promptflow maps a flex entry's signature.
_FLEX_TYPES = {str: "string", int: "int", float: "double", bool: "bool", list: "list", dict: "object"}
MODEL_CONFIGS = ("AzureOpenAIModelConfiguration", "OpenAIModelConfiguration")


def _flex_type(ann):
    """(flow value type, model configuration class name); the type is "" when the
    annotation is absent or names no flow type (the value is passed as it is)."""
    if ann is inspect.Parameter.empty:
        return "", ""
    if isinstance(ann, str):
        name = ann.split(".")[-1].split("[")[0]
        if name in MODEL_CONFIGS:
            return "object", name
        return {"str": "string", "int": "int", "float": "double", "bool": "bool", "list": "list", "List": "list",
                "dict": "object", "Dict": "object"}.get(name, ""), ""
    name = getattr(ann, "__name__", "")
    if name in MODEL_CONFIGS:
        return "object", name
    if ann in _FLEX_TYPES:
        return _FLEX_TYPES[ann], ""
    origin = getattr(ann, "__origin__", None)
    if origin in _FLEX_TYPES:
        return _FLEX_TYPES[origin], ""
    return "", ""


def _flex_params(fn, skip_self=False):
    out = []
    for i, (name, p) in enumerate(_signature(fn).parameters.items()):
        if skip_self and i == 0 and name in ("self", "cls"):
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        vtype, model = _flex_type(p.annotation)
        item = {"name": name, "type": vtype, "annotation": _annotation_name(p.annotation),
                "has_default": p.default is not inspect.Parameter.empty}
        if model:
            item["model_config"] = model
        if item["has_default"]:
            try:
                item["default"] = json.loads(json.dumps(p.default, allow_nan=False))
            except (TypeError, ValueError):
                item["default"] = str(p.default)
        out.append(item)
    return out


def _flex_resolve(kwargs, sig, conns):
    """Build model configurations (AzureOpenAIModelConfiguration, OpenAIModelConfiguration)
    from the dicts given for parameters annotated with them; ${env:VAR} values are read
    from the environment and `connection` from the connection pfz resolved."""
    for name, value in list(kwargs.items()):
        p = sig.parameters.get(name)
        if p is None:
            continue
        _, model = _flex_type(p.annotation)
        if model and isinstance(value, dict):
            kwargs[name] = _model_config(model, value, conns.get(name))


def _env_value(v):
    if isinstance(v, str) and v.startswith("${env:") and v.endswith("}"):
        return os.environ.get(v[6:-1], "")
    return v


def _model_config(cls_name, value, conn):
    """A model configuration from its dict, as promptflow resolves an init argument:
    with a connection, the endpoint and key come from it and only the deployment
    (or model) is kept from the dict."""
    import promptflow.core as pc
    cls = getattr(pc, cls_name)
    kwargs = {k: _env_value(v) for k, v in value.items()}
    if conn is None:
        return cls(**kwargs)
    vals = conn.get("values") or {}
    if cls_name == "AzureOpenAIModelConfiguration":
        own = ("azure_endpoint", "api_key", "api_version")
        if any(kwargs.get(k) for k in own):
            raise ValueError("Cannot configure model config and connection at the same time.")
        return cls(azure_deployment=kwargs.get("azure_deployment"), azure_endpoint=vals.get("api_base"),
                   api_version=vals.get("api_version"), api_key=vals.get("api_key"))
    own = ("base_url", "api_key", "organization")
    if any(kwargs.get(k) for k in own):
        raise ValueError("Cannot configure model config and connection at the same time.")
    return cls(model=kwargs.get("model"), base_url=vals.get("base_url"), api_key=vals.get("api_key"),
               organization=vals.get("organization"))


def _find_tool(mod, path):
    """The function (or class method) decorated with @tool in a module."""
    funcs, classes = [], []
    for name, obj in vars(mod).items():
        if inspect.isclass(obj) and obj.__module__ == mod.__name__:
            for mname, m in vars(obj).items():
                if callable(m) and _is_tool(m):
                    classes.append((obj, mname))
        elif callable(obj) and _is_tool(obj):
            if getattr(obj, "__module__", None) == mod.__name__ or inspect.isfunction(obj):
                funcs.append(obj)
    own = [f for f in funcs if getattr(f, "__module__", None) == mod.__name__]
    if len(own) == 1 or (len(funcs) == 1 and not own):
        return (own or funcs)[0], None
    if len(own) > 1:
        raise ValueError(
            "found %d functions decorated with @tool in %s (%s); a tool file must have exactly one"
            % (len(own), path, ", ".join(f.__name__ for f in own))
        )
    if len(classes) == 1:
        return classes[0]
    if len(classes) > 1:
        raise ValueError("found several @tool methods in %s; a tool file must have exactly one" % path)
    # A real promptflow may mark tools differently than the built-in runtime:
    # fall back to the single function the module itself defines.
    plain = [o for o in vars(mod).values() if inspect.isfunction(o) and o.__module__ == mod.__name__
             and not o.__name__.startswith("_")]
    if len(plain) == 1:
        return plain[0], None
    raise ValueError(
        "no function decorated with @tool in %s; add `from promptflow.core import tool` and put @tool on the entry function"
        % path
    )


def _is_tool(obj):
    try:
        return hasattr(obj, "__tool") or hasattr(getattr(obj, "__wrapped__", None), "__tool")
    except Exception:
        return False


class PackageToolNotFoundError(ImportError):
    """A package tool id that names no importable module attribute (promptflow's name)."""


def _resolve_package_tool(tool_id):
    # "pkg.module.func" or "pkg.module.Class.method": import the longest module
    # prefix that exists. A module that exists but fails to import (a missing
    # dependency) raises its own error: that is what the user must fix.
    missing = PackageToolNotFoundError(
        "Package tool '%s' is not found in the current environment." % tool_id)
    parts = tool_id.split(".")
    for i in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:i])
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue
            raise
        obj = mod
        for p in parts[i:-1]:
            obj = getattr(obj, p, None)
            if obj is None:
                raise missing
        if not hasattr(obj, parts[-1]):
            raise missing
        if inspect.isclass(obj):
            return obj, parts[-1]
        return getattr(obj, parts[-1]), None
    raise missing


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return inspect.Signature()


def _annotation_name(ann):
    if ann is inspect.Parameter.empty:
        return ""
    if isinstance(ann, str):
        return ann
    return getattr(ann, "__name__", None) or str(ann)


def _connection_classes(ann):
    """The connection classes an annotation names (a class, or a Union of them)."""
    if ann is inspect.Parameter.empty or isinstance(ann, str):
        return []
    args = getattr(ann, "__args__", None)
    cands = list(args) if args else [ann]
    return [c for c in cands if inspect.isclass(c) and any(
        b.__name__.endswith("Connection") for b in inspect.getmro(c))]


def _params(fn, skip_self=False):
    out = []
    for i, (name, p) in enumerate(_signature(fn).parameters.items()):
        if skip_self and i == 0 and name in ("self", "cls"):
            continue
        out.append({
            "name": name,
            "annotation": _annotation_name(p.annotation),
            "connection": bool(_connection_classes(p.annotation)) or (
                isinstance(p.annotation, str) and p.annotation.endswith("Connection")),
            "has_default": p.default is not inspect.Parameter.empty,
            "kind": p.kind.name.lower(),
        })
    return out


def _convert(kwargs, sig, conns):
    """Build connection objects and coerce literal strings to annotated types."""
    for name, value in list(kwargs.items()):
        p = sig.parameters.get(name)
        if name in conns:
            kwargs[name] = _make_connection(p.annotation if p else None, conns[name])
            continue
        if p is None or not isinstance(value, str):
            continue
        ann = p.annotation
        try:
            if ann is bool:
                if value.lower() in ("true", "false"):
                    kwargs[name] = value.lower() == "true"
            elif ann is int:
                kwargs[name] = int(value)
            elif ann is float:
                kwargs[name] = float(value)
            elif ann in (list, dict) or getattr(ann, "__origin__", None) in (list, dict):
                v = json.loads(value)
                if isinstance(v, (list, dict)):
                    kwargs[name] = v
        except ValueError:
            pass


def _make_connection(ann, conn):
    values = dict(conn.get("values") or {})
    secret_keys = set(conn.get("secret_keys") or [])
    ctype = (conn.get("type") or "").lower().replace("connection", "")
    classes = _connection_classes(ann) if ann is not None else []
    cls = None
    for c in classes:
        if c.__name__.lower().replace("connection", "") == ctype:
            cls = c
    if cls is None and classes:
        cls = classes[0]
    if cls is None:
        import promptflow.connections as pc
        for c in vars(pc).values():
            if inspect.isclass(c) and c.__name__.lower().replace("connection", "") == ctype:
                cls = c
        cls = cls or pc.CustomConnection
    params = _signature(cls.__init__).parameters
    name = conn.get("name")
    if "secrets" in params:
        secrets = {k: v for k, v in values.items() if k in secret_keys}
        configs = {k: v for k, v in values.items() if k not in secret_keys}
        obj = cls(secrets=secrets, configs=configs)
        try:
            obj.name = name
        except Exception:
            pass
        return obj
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in values.items() if accepts_any or k in params}
    if "name" in params or accepts_any:
        kwargs.setdefault("name", name)
    return cls(**kwargs)


def _error(e, msg):
    tb = e.__traceback__
    # Drop the worker's own frames so the traceback starts in user code.
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == os.path.abspath(__file__):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(e), e, tb))
    return {"type": type(e).__name__, "module": type(e).__module__, "message": str(e), "traceback": text}


def _default(o):
    """What json.dumps cannot write fails, as in promptflow: no str() of sets,
    datetimes or objects. Images are written as promptflow writes them."""
    img = _helper("pfz_media").dump(o)
    if img is not None:
        return img
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _watch_parent():
    """Exit when pfz goes away (the kernel does it on Linux; this covers the
    rest): a worker must not run a flow's code for a process that is gone."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="pfz-parent-watch", daemon=True).start()


def main():
    _watch_parent()
    flow_dir = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    kind = _setup_paths(flow_dir)
    try:
        sys.stdin = open(os.devnull)
    except OSError:
        pass
    # Line buffering: what a tool printed before it hung is not lost when the
    # worker is killed.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass
    w = Worker()
    w.flow_dir = flow_dir
    try:
        from promptflow import _pfz_bridge
        _pfz_bridge.set_callback(w.callback)
        _pfz_bridge.set_renderer(lambda text, inputs: _renderer().render(text, inputs))
    except Exception:
        pass
    try:
        from promptflow._core.metric_logger import add_metric_logger
        add_metric_logger(w.on_metric)
    except Exception:
        pass
    version = ""
    try:
        import promptflow
        version = getattr(promptflow, "__version__", "")
    except Exception:
        pass
    w.serve({"python": sys.version.split()[0], "promptflow": kind, "promptflow_version": version, "pid": os.getpid()})


if __name__ == "__main__":
    main()
