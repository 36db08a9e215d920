"""``keep:`` / ``drop:`` expressions over signal columns, compiled once and evaluated with pyarrow.compute.

Grammar (a safe subset of Python): column names, numbers, strings, ``True/False/None``, lists,
``and or not``, comparisons (``== != < <= > >= in``, ``not in``), ``+ - * /``, and the functions
``len(col)`` (characters), ``lower(col)``, ``contains(col, "s")``, ``startswith(col, "s")``,
``is_null(col)``.  A comparison with a missing (null) value is false.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError

Evaluator = Callable[[pa.RecordBatch], Any]

_CMP = {ast.Eq: "equal", ast.NotEq: "not_equal", ast.Lt: "less", ast.LtE: "less_equal",
        ast.Gt: "greater", ast.GtE: "greater_equal"}
_BIN = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
_FUNCS: dict[str, Callable[..., Any]] = {
    "len": lambda a: pc.utf8_length(a),
    "lower": lambda a: pc.utf8_lower(a),
    "contains": lambda a, s: pc.match_substring(a, s),
    "startswith": lambda a, s: pc.starts_with(a, s),
    "is_null": lambda a: pc.is_null(a),
}


def compile_expression(src: str) -> tuple[Evaluator, set[str]]:
    """Compile ``src``; returns an evaluator and the column names it reads."""
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise ConfigError(f"expression {src!r} is not valid: {e.msg} at column {e.offset}") from None
    columns: set[str] = set()
    fn = _compile(tree.body, src, columns)
    return fn, columns


def _const(node: ast.AST, src: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_const(e, src) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    raise ConfigError(f"expression {src!r}: expected a constant, got {ast.unparse(node)!r}")


def _compile(node: ast.AST, src: str, columns: set[str]) -> Evaluator:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, src, columns) for v in node.values]
        op = pc.and_kleene if isinstance(node.op, ast.And) else pc.or_kleene

        def boolop(b: pa.RecordBatch) -> Any:
            acc = parts[0](b)
            for p in parts[1:]:
                acc = op(acc, p(b))
            return acc
        return boolop
    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand, src, columns)
        if isinstance(node.op, ast.Not):
            return lambda b: pc.invert(inner(b))
        if isinstance(node.op, ast.USub):
            return lambda b: pc.negate(inner(b))
    if isinstance(node, ast.Compare):
        left = _compile(node.left, src, columns)
        tests = []
        for op, comp in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = _const(comp, src)
                if not isinstance(values, list):
                    raise ConfigError(f"expression {src!r}: 'in' needs a list, e.g. lang in ['en', 'zh']")
                neg = isinstance(op, ast.NotIn)
                tests.append(("in", values, neg))
            elif type(op) in _CMP:
                tests.append((_CMP[type(op)], _compile(comp, src, columns), False))
            else:
                raise ConfigError(f"expression {src!r}: operator {type(op).__name__} is not supported")

        def compare(b: pa.RecordBatch) -> Any:
            lhs = left(b)
            acc = None
            for name, rhs, neg in tests:
                if name == "in":
                    r = pc.is_in(lhs, value_set=pa.array(rhs))
                    r = pc.invert(r) if neg else r
                else:
                    r = getattr(pc, name)(lhs, rhs(b))
                acc = r if acc is None else pc.and_kleene(acc, r)
            return acc
        return compare
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        lf, rf, fname = _compile(node.left, src, columns), _compile(node.right, src, columns), _BIN[type(node.op)]
        if fname == "divide":
            return lambda b: pc.divide(pc.cast(lf(b), pa.float64()), pc.cast(rf(b), pa.float64()))
        return lambda b: getattr(pc, fname)(lf(b), rf(b))
    if isinstance(node, ast.Name):
        name = node.id
        if name in ("True", "False", "None"):
            return lambda b: {"True": True, "False": False, "None": None}[name]
        columns.add(name)
        return lambda b: b.column(name)
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda b: pa.scalar(value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
        f = _FUNCS[node.func.id]
        first = _compile(node.args[0], src, columns)
        rest = [_const(a, src) for a in node.args[1:]]
        return lambda b: f(first(b), *rest)
    raise ConfigError(f"expression {src!r}: {ast.unparse(node)!r} is not supported; use columns, constants, "
                      f"and/or/not, comparisons, in, + - * /, and {', '.join(_FUNCS)}()")


def evaluate_mask(fn: Evaluator, columns: set[str], batch: pa.RecordBatch, src: str) -> pa.Array:
    missing = columns - set(batch.schema.names)
    if missing:
        raise ConfigError(f"expression {src!r} reads column(s) {', '.join(sorted(missing))} that no earlier "
                          f"step made; columns here: {', '.join(batch.schema.names)}")
    result = fn(batch)
    if isinstance(result, pa.Scalar) or not hasattr(result, "__len__"):
        value = result.as_py() if isinstance(result, pa.Scalar) else result
        return pa.array([bool(value)] * batch.num_rows, pa.bool_())
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    if not pa.types.is_boolean(result.type):
        raise ConfigError(f"expression {src!r} gives {result.type}, not true/false")
    return pc.fill_null(result, False)
