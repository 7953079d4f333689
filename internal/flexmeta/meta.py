# Reads a flex flow entry's signature without running any of the user's
# code: the module is parsed with ast, never imported. Prints one JSON
# object: {"inputs": [[name, port]...], "outputs": [...], "init": [...]}
# with ports {"type": ..., "default": ...} as promptflow's flow meta has
# them, or {"error": "..."}.
# Usage: meta.py <code folder> <module:function or module:Class>
import ast
import json
import os
import sys

PRIMITIVE = {"str": "string", "int": "int", "float": "double", "bool": "bool", "list": "list", "dict": "object"}
OPTIONAL_WRAPPERS = {"Optional"}
MODEL_CONFIGS = {"AzureOpenAIModelConfiguration", "OpenAIModelConfiguration"}


class MetaError(Exception):
    pass


def find_module(code, module):
    rel = module.replace(".", os.sep)
    for cand in (os.path.join(code, rel + ".py"), os.path.join(code, rel, "__init__.py")):
        if os.path.isfile(cand):
            return cand
    raise MetaError("cannot find module %s under %s (looked for %s.py)" % (module, code, rel))


def parse(path):
    with open(path, "rb") as f:
        src = f.read()
    try:
        return ast.parse(src, filename=path)
    except SyntaxError as e:
        raise MetaError("%s:%s: %s" % (path, e.lineno, e.msg))


def top_level(tree, name):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
    return None


def name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def port_type(ann, entry, param):
    """The flow value type of a parameter annotation, as promptflow names it."""
    if ann is None:
        return "object"
    if isinstance(ann, ast.Constant) and ann.value is None:
        return "object"
    if isinstance(ann, ast.Subscript):
        base = name_of(ann.value)
        if base in OPTIONAL_WRAPPERS:
            return port_type(ann.slice, entry, param)
        if base == "Union":
            elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            rest = [e for e in elts if not (isinstance(e, ast.Constant) and e.value is None)]
            if len(rest) == 1:
                return port_type(rest[0], entry, param)
        raise MetaError("Parse interface for tool '%s' failed: The input '%s' is of a complex python type. Please use a dict instead." % (entry, param))
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        for side, other in ((ann.left, ann.right), (ann.right, ann.left)):
            if isinstance(other, ast.Constant) and other.value is None:
                return port_type(side, entry, param)
    n = name_of(ann)
    if n in PRIMITIVE:
        return PRIMITIVE[n]
    if n and (n.endswith("Connection") or n in MODEL_CONFIGS):
        return n
    raise MetaError("Parse interface for tool '%s' failed: The input '%s' is of a complex python type. Please use a dict instead." % (entry, param))


def default_text(node):
    """str() of a default as promptflow records it: None is left out."""
    try:
        v = ast.literal_eval(node)
    except Exception:
        return ast.unparse(node)
    if v is None:
        return None
    return str(v)


def ports(fn, entry, skip_self):
    args = fn.args
    positional = list(args.posonlyargs) + list(args.args)
    if skip_self and positional:
        positional = positional[1:]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    out = []
    for a, d in pairs:
        port = {"type": port_type(a.annotation, entry, a.arg)}
        if d is not None:
            text = default_text(d)
            port["default"] = "" if text is None else text
        out.append([a.arg, port])
    return out


def class_fields(tree, name):
    """Annotated fields of a dataclass or TypedDict defined in the module."""
    cls = top_level(tree, name)
    if not isinstance(cls, ast.ClassDef):
        return None
    is_dc = any(name_of(d.func if isinstance(d, ast.Call) else d) == "dataclass" for d in cls.decorator_list)
    is_td = any(name_of(b) == "TypedDict" for b in cls.bases)
    if not (is_dc or is_td):
        return None
    fields = []
    for st in cls.body:
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            fields.append([st.target.id, {"type": port_type(st.annotation, name, st.target.id)}])
    return fields


def outputs(tree, fn, entry):
    ret = fn.returns
    if ret is None or (isinstance(ret, ast.Name) and ret.id == "str"):
        return None
    if isinstance(ret, ast.Constant) and isinstance(ret.value, str) and ret.value == "str":
        return None
    n = name_of(ret)
    fields = class_fields(tree, n) if n else None
    if fields is not None:
        return fields
    got = "<class '%s'>" % n if n in PRIMITIVE or n in ("tuple", "set") else ast.unparse(ret)
    raise MetaError("Parse interface for '%s' failed: The return annotation of the entry function must be dataclass, TypedDict or string, but got %s." % (entry, got))


def main():
    code, entry = sys.argv[1], sys.argv[2]
    module, sep, attr = entry.partition(":")
    if not sep or not module or not attr:
        raise MetaError("entry %r must be module:function or module:Class" % entry)
    tree = parse(find_module(code, module))
    node = top_level(tree, attr)
    if node is None:
        raise MetaError("module %s has no top-level function or class %s" % (module, attr))
    meta = {}
    if isinstance(node, ast.ClassDef):
        call = top_level(ast.Module(body=node.body, type_ignores=[]), "__call__")
        if call is None:
            raise MetaError("class %s has no __call__ method" % attr)
        meta["inputs"] = ports(call, attr, True)
        out = outputs(tree, call, attr)
        init = top_level(ast.Module(body=node.body, type_ignores=[]), "__init__")
        meta["init"] = ports(init, attr, True) if init is not None else []
    else:
        meta["inputs"] = ports(node, attr, False)
        out = outputs(tree, node, attr)
    if out is not None:
        meta["outputs"] = out
    for k in list(meta):
        if not meta[k]:
            del meta[k]
    return meta


if __name__ == "__main__":
    try:
        result = main()
    except MetaError as e:
        result = {"error": str(e)}
    except Exception as e:  # a bug here must not look like the user's
        result = {"error": "cannot read the entry's signature: %s: %s" % (type(e).__name__, e)}
    json.dump(result, sys.stdout)
