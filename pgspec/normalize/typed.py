"""Expressions compared with the casts parse analysis adds to their numeric operands.

The server stores an expression after parse analysis has chosen every operator, and an
operator needs operands of its own input types: ``qty * price`` (integer times numeric) finds
no ``integer * numeric`` operator, so ``func_select_candidate`` (parse_func.c) picks
``numeric * numeric`` (the candidate with the most exact matches, then the preferred type of
the category) and ``make_op`` wraps ``qty`` in the implicit coercion ``int4 -> numeric``.
ruleutils prints an implicit coercion only where it is an operand of an operator or an
argument of a function (``get_rule_expr_paren(..., showimplicit = true)``), which is every place
it appears here: ``pg_get_expr`` answers ``((qty)::numeric * price)``. Written as people write
it, the expression says ``qty * price``; the context-free canonical form
(``normalize.expressions``) cannot tell whether ``qty`` is an integer and keeps the cast.

Here each side's expression is read with the column types of the table it belongs to (its own
catalog's, as ``normalize.views`` reads a view against its own relations), and the casts the
server adds are added where they follow from those types alone:

* an integer (``smallint``, ``integer``, ``bigint``) beside a ``numeric`` under ``+ - * / %``
  or a comparison (and ``IS [NOT] DISTINCT FROM``, ``NULLIF``, ``BETWEEN``, which parse
  analysis turns into the ``=``, ``<=`` and ``>=`` operators: ``transformAExprDistinct``,
  ``transformAExprNullIf``, ``transformAExprBetween``) becomes ``numeric``; an integer or a
  numeric beside a ``double precision`` becomes ``double precision`` (no operator mixes them,
  and float8's is the preferred candidate; numeric -> float8 is implicit, the reverse is not);
* ``^`` exists for ``numeric`` and ``double precision`` only: integers become ``double
  precision`` (the preferred type), beside a numeric they become ``numeric``;
* ``%`` exists for each integer width on its own (``int2mod``, ``int4mod``, ``int8mod``; no
  cross-width operator): the narrower integer is widened;
* integers of different widths under the other operators need no cast: ``int48pl``,
  ``int24lt`` and their kin exist;
* ``COALESCE``, ``GREATEST``/``LEAST`` and ``CASE`` results take the common type
  (``select_common_type``: int2 -> int4 -> int8 -> numeric -> float8, each implicitly castable
  to the next and not back), and every argument of another type is cast to it.

An expression's type is known for columns of those types, numeric constants (``1`` is an
integer, ``1.5`` and a number beyond bigint are numeric, ``10000000000`` is a bigint: ``make_const``),
explicit casts to those types and the operators above; anything else (a function's result, a
column of another type, a subquery) is unknown, and nothing is cast around it: the expression
is compared as written there. Subqueries are left entirely as written (their columns belong to
their own FROM items). A name that could be a table's column or a qualified one (``t.x`` where
``t`` is both the table and a column) raises ``_Uncertain`` and the whole expression is compared
as written. Adding a cast the server would add never changes what the expression means (the
same ``pg_cast`` function runs, implicit or explicit), so two expressions equal after it are
equal on the server; one whose types differ (a real change) keeps a different tree.

This assumes the built-in operators of those types: a user-defined ``integer * numeric``
operator would be chosen over the cast (pgspec does not model operators). Casts on constants
need nothing here: the canonical form drops ``(0)::numeric`` on both sides already.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast, enums

from pgspec.catalog import Catalog, Column, Difference, IndexKey, Table
from pgspec.errors import SqlError
from pgspec.normalize.expressions import (
    _deparse,
    _expand_between,
    _rewrite,
    expression_tree,
)
from pgspec.normalize.types import format_type_name, internal_type_name
from pgspec.quoting import qualified

__all__ = ["CAST_ATTRIBUTES", "TEXT_FUNCTIONS", "cast_type", "column_kinds", "string_kind",
           "string_operand_casts", "subqueries_equivalent", "type_query", "typed_canonical",
           "typed_equivalent", "unchanged_by_cast", "unsettled"]


class _Uncertain(Exception):
    """A name whose meaning cannot be told for certain: the expression stays as written."""


#: Rank of each numeric type in ``select_common_type``'s implicit-cast chain.
_RANK = {"int2": 0, "int4": 1, "int8": 2, "numeric": 3, "float8": 4}
_INTEGERS = frozenset({"int2", "int4", "int8"})
#: Kinds that never carry a type modifier.
_UNMODIFIED = _INTEGERS | {"float8"}
#: The type of a string literal or NULL: resolved to the other operand's type, never cast.
_UNKNOWN = "unknown"
_BOOL = "bool"

_ARITHMETIC = frozenset({"+", "-", "*", "/"})
_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">="})

#: Canonical column types (``Column.type``) whose operand casts are modelled.
_COLUMN_KINDS = {"smallint": "int2", "integer": "int4", "bigint": "int8",
                 "numeric": "numeric", "double precision": "float8"}

#: Difference attributes holding an expression a table's columns type, by object kind.
CAST_ATTRIBUTES = frozenset({"expression", "generated", "where", "keys", "when", "using",
                             "with_check", "checks"})


def column_kinds(columns: Iterable[Column]) -> dict[str, str | None]:
    """Each column's kind: its numeric kind (``int4``, ``numeric``, ...) for the numeric types,
    else its canonical type itself (``character varying(255)``, ``public.order_status``);
    every column of the table is present, so a name missing from it is no column of the
    table."""
    return {c.name: _kind(c.type) for c in columns}


def _kind(type_name: str) -> str:
    """A type's kind as ``column_kinds`` gives it."""
    return _COLUMN_KINDS.get(type_name.split("(", 1)[0], type_name)


# --------------------------------------------------------------------------- string casts
#
# ``(col)::text`` is what the server prints for a varchar column under a text operator
# (varchar has no operators of its own: parse analysis relabels it to text, a binary-coercible
# cast that never changes the value). The same spelling on a char(n) column (bpchar -> text
# strips trailing blanks, and picks text's operators over bpchar's) or an enum column (text
# order, not the enum's) means something else, so the context-free form keeps every cast on
# a column; these rules, used here and by ``normalize.views`` where the column's type is
# known, say which casts the server adds itself or which cannot change the meaning.

#: Built-in functions with text parameters only (no bpchar variant, nothing else a bpchar
#: converts to implicitly): function resolution casts a char(n) argument to text, and the
#: server prints ``upper((code)::text)``. The value says whether the result is text. A user's
#: function of the same name may take bpchar itself: the rule is then not applied.
TEXT_FUNCTIONS: dict[str, bool] = {
    **dict.fromkeys(("upper", "lower", "initcap", "btrim", "ltrim", "rtrim", "md5",
                     "replace", "substr", "substring", "left", "right", "reverse", "repeat",
                     "lpad", "rpad", "translate", "split_part", "regexp_replace",
                     "string_agg"), True),
    **dict.fromkeys(("strpos", "starts_with", "ascii", "to_tsvector"), False),
}


def string_kind(kind: str | None) -> str | None:
    """``text``, ``varchar`` or ``bpchar`` for a canonical type of those, else None."""
    if kind is None or kind.endswith("]"):
        return None
    if kind == "text":
        return "text"
    return {"character varying": "varchar", "character": "bpchar"}.get(kind.split("(", 1)[0])


def cast_type(node: ast.TypeName) -> str | None:
    """The canonical type a cast names (``Column.type``'s spelling), None if unsure."""
    try:
        return format_type_name(node)
    except (SqlError, AttributeError):
        return None


def unchanged_by_cast(target: str, operand: str) -> str | None:
    """Why a cast to ``target`` of an operand of canonical type ``operand`` is not one the
    server stores, or cannot change the meaning; None when it may.

    ``same``: the operand's own type and modifier (``coerce_type`` returns the node itself and
    ``coerce_type_typmod`` adds nothing: the server prints no cast). ``relabel``: varchar to
    text or to unbounded varchar, binary-coercible and without a length check, the cast
    parse analysis adds itself before every text operator and function. A relabel still
    changes the type of a view's output column, so a view keeps it there.
    """
    if target == operand:
        return "same"
    if string_kind(operand) == "varchar" and target in ("text", "character varying"):
        return "relabel"
    if target.endswith("[]") and operand.endswith("[]"):
        # varchar[] -> text[] relabels each element: ``(tags)::text[]`` under ``= ANY``.
        return "relabel" if unchanged_by_cast(target[:-2], operand[:-2]) else None
    return None


def string_operand_casts(op: str, left: str | None, right: str | None
                         ) -> tuple[str | None, str | None]:
    """The casts parse analysis adds to the string operands of ``op`` (``text``, ``bpchar``
    or None for each side), from their canonical types (``unknown`` for a literal).

    No ``||`` takes bpchar: a char(n) operand becomes text beside a string or a literal. A
    comparison of char(n) with text resolves to text's operator (text is the preferred type
    of the category), of char(n) with varchar to bpchar's (varchar -> bpchar is implicit,
    bpchar -> varchar is not); beside a literal bpchar's own operator is chosen, without a
    cast. Anything else is left as written.
    """
    ls, rs = string_kind(left), string_kind(right)
    if op == "||":
        lstring = ls is not None or left == _UNKNOWN
        rstring = rs is not None or right == _UNKNOWN
        if not (lstring and rstring):
            return None, None
        return ("text" if ls == "bpchar" else None), ("text" if rs == "bpchar" else None)
    if op not in _COMPARISONS:
        return None, None
    if ls == "bpchar" and rs == "text":
        return "text", None
    if rs == "bpchar" and ls == "text":
        return None, "text"
    if ls == "bpchar" and rs == "varchar":
        return None, "bpchar"
    if rs == "bpchar" and ls == "varchar":
        return "bpchar", None
    return None, None


def _cast(node: Any, kind: str) -> ast.TypeCast:
    return ast.TypeCast(arg=node, typeName=ast.TypeName(
        names=(ast.String(sval="pg_catalog"), ast.String(sval=kind)), typemod=-1))


def _is_constant(node: Any) -> bool:
    return isinstance(node, ast.A_Const)


class _Typer:
    """Types an expression's numeric operands bottom-up, adding the casts parse analysis adds
    (see the module docstring); ``visit`` returns the node (perhaps replaced) and its kind."""

    def __init__(self, kinds: Mapping[str, str | None], qualifiers: frozenset[str],
                 functions: frozenset[str] = frozenset()) -> None:
        self.kinds = kinds
        self.qualifiers = qualifiers
        #: Names of the catalog's own functions (which may shadow ``TEXT_FUNCTIONS``).
        self.functions = functions

    def keeps(self, node: Any) -> bool:
        """Whether a relabel cast (or one ``node`` holds as an argument of COALESCE, CASE...)
        must stay: it types a view's output column."""
        return False

    def visit(self, node: Any) -> tuple[Any, str | None]:
        if isinstance(node, tuple | list):
            return tuple(self.visit(n)[0] for n in node), None
        if not isinstance(node, ast.Node):
            return node, None
        handler = getattr(self, "visit_" + type(node).__name__, None)
        if handler is not None:
            return handler(node)
        self.children(node)
        return node, None

    def children(self, node: ast.Node) -> None:
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, ast.Node | tuple | list):
                setattr(node, attr, self.visit(value)[0])

    # -- leaves

    def visit_A_Const(self, node: Any) -> tuple[Any, str | None]:
        if node.isnull or isinstance(node.val, ast.String):
            return node, _UNKNOWN
        if isinstance(node.val, ast.Integer):
            return node, "int4"
        if isinstance(node.val, ast.Float):
            text = node.val.fval or ""
            if text[:2].lower() not in ("0x", "0o", "0b") and any(c in text for c in ".eE"):
                return node, "numeric"
            try:
                number = int(text, 0) if text[:2].lower() in ("0x", "0o", "0b") else int(text)
            except ValueError:
                return node, None
            return node, "int8" if number < 2**63 else "numeric"
        if isinstance(node.val, ast.Boolean):
            return node, _BOOL
        return node, None

    def visit_ColumnRef(self, node: Any) -> tuple[Any, str | None]:
        fields = node.fields
        names = [getattr(f, "sval", None) for f in fields]
        if len(names) == 1 and names[0] is not None:
            return node, self.kinds.get(names[0])
        if len(names) == 2 and None not in names and names[0] in self.qualifiers:
            if names[0] in self.kinds:
                raise _Uncertain(names[0])  # the table's name, and a column's
            return node, self.kinds.get(names[1])  # type: ignore[arg-type]
        return node, None

    def visit_SubLink(self, node: Any) -> tuple[Any, str | None]:
        return node, None  # its columns are its own FROM items': left as written

    def visit_TypeCast(self, node: Any) -> tuple[Any, str | None]:
        node.arg, inner = self.visit(node.arg)
        internal = internal_type_name(node.typeName)
        scalar = not node.typeName.arrayBounds
        if scalar and internal == inner and internal in _UNMODIFIED and not node.typeName.typmods:
            # ``qty::integer`` on an integer: coerce_type returns the node itself (same type)
            # and coerce_type_typmod adds nothing (typmod -1 on both), so the server prints
            # ``qty``. A numeric keeps its cast (a column's typmod may differ: RelabelType).
            return node.arg, inner
        if scalar and internal in _RANK:
            return node, internal
        target = cast_type(node.typeName)
        reason = (unchanged_by_cast(target, inner) if target is not None and inner is not None
                  and inner not in _RANK and inner not in (_UNKNOWN, _BOOL) else None)
        if reason == "same" or (reason == "relabel" and not self.keeps(node)):
            # ``name::text`` on a text column (the server prints ``name``), ``(email)::text``
            # on a varchar one (the relabel the server adds itself): see ``unchanged_by_cast``.
            return node.arg, target if target == "text" else inner
        return node, target

    def visit_FuncCall(self, node: Any) -> tuple[Any, str | None]:
        typed = [self.visit(arg) for arg in node.args or ()]
        for attr in node:
            value = getattr(node, attr)
            if attr != "args" and isinstance(value, ast.Node | tuple | list):
                setattr(node, attr, self.visit(value)[0])
        names = [getattr(n, "sval", None) for n in node.funcname]
        name = names[-1] if len(names) == 1 or names[:1] == ["pg_catalog"] else None
        if (name not in TEXT_FUNCTIONS or (len(names) == 1 and name in self.functions)
                or node.agg_star or node.func_variadic):
            if typed:
                node.args = tuple(n for n, _ in typed)
            return node, None
        # ``upper(code)`` on a char(n) column: function resolution casts it to text.
        node.args = tuple(_cast(n, "text") if string_kind(k) == "bpchar"
                          and not _is_constant(n) else n for n, k in typed)
        return node, "text" if TEXT_FUNCTIONS[name] else None  # type: ignore[index]

    # -- operators

    def visit_A_Expr(self, node: Any) -> tuple[Any, str | None]:
        kind = node.kind
        if kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_NOT_BETWEEN):
            # Two comparisons, each typed on its own: ``(qty)::numeric >= 0.5 AND qty <= 10``.
            node.lexpr = self.visit(node.lexpr)[0]
            return self.visit(_expand_between(node))[0], _BOOL
        op = getattr(node.name[-1], "sval", None) if node.name else None
        if kind == enums.A_Expr_Kind.AEXPR_OP and node.lexpr is None:
            node.rexpr, inner = self.visit(node.rexpr)
            return node, inner if op in ("-", "+") and inner in _RANK else None
        if kind in (enums.A_Expr_Kind.AEXPR_DISTINCT, enums.A_Expr_Kind.AEXPR_NOT_DISTINCT,
                    enums.A_Expr_Kind.AEXPR_NULLIF):
            op = "="  # parse analysis resolves these through the = operator
        elif kind != enums.A_Expr_Kind.AEXPR_OP or len(node.name) != 1:
            self.children(node)
            return node, None
        node.lexpr, left = self.visit(node.lexpr)
        node.rexpr, right = self.visit(node.rexpr)
        cast_left, cast_right = string_operand_casts(op, left, right)
        if cast_left is not None:
            node.lexpr, left = _cast(node.lexpr, cast_left), cast_left
        if cast_right is not None:
            node.rexpr, right = _cast(node.rexpr, cast_right), cast_right
        if op == "||" and (string_kind(left) or string_kind(right)) and not (
                left in _RANK or right in _RANK):
            return node, "text"
        target = _operator_input(op, left, right)
        if target is not None:
            if left != target and left in _RANK and not _is_constant(node.lexpr):
                node.lexpr = _cast(node.lexpr, target)
            if right != target and right in _RANK and not _is_constant(node.rexpr):
                node.rexpr = _cast(node.rexpr, target)
        if kind == enums.A_Expr_Kind.AEXPR_NULLIF:
            # The first argument's type, as the ``=`` operator chosen takes it: varchar has
            # no ``=`` of its own and is read as text; a number may be widened.
            if left in _RANK:
                return node, target or left
            return node, "text" if string_kind(left) in ("text", "varchar") else None
        if op in _COMPARISONS or kind != enums.A_Expr_Kind.AEXPR_OP:
            return node, _BOOL
        if left in _RANK and right in _RANK:
            # int2 + int4 is int4 (int24pl): the wider kind, or the operator's after a cast.
            return node, target or max(left, right, key=_RANK.__getitem__)  # type: ignore[arg-type]
        if left == _UNKNOWN and right in _RANK:
            return node, right
        if right == _UNKNOWN and left in _RANK:
            return node, left
        return node, None

    def _common(self, values: tuple[Any, ...], owner: Any) -> tuple[tuple[Any, ...], str | None]:
        """``select_common_type`` over numeric kinds (every argument of another kind cast) or
        string kinds (``_common_string``) of ``owner``'s arguments or results."""
        typed = [self.visit(v) for v in values]
        kinds = {k for _, k in typed if k != _UNKNOWN}
        if kinds and all(string_kind(k) for k in kinds):
            return _common_string(typed, relabel=self.keeps(owner))
        if not kinds or not kinds <= _RANK.keys():
            return tuple(n for n, _ in typed), None
        target = max((k for k in kinds if k is not None), key=_RANK.__getitem__)
        return tuple(_cast(n, target) if k in _RANK and k != target and not _is_constant(n)
                     else n for n, k in typed), target

    def visit_CoalesceExpr(self, node: Any) -> tuple[Any, str | None]:
        node.args, kind = self._common(tuple(node.args), node)
        return node, kind

    def visit_MinMaxExpr(self, node: Any) -> tuple[Any, str | None]:
        node.args, kind = self._common(tuple(node.args), node)
        return node, kind

    def visit_CaseExpr(self, node: Any) -> tuple[Any, str | None]:
        if node.arg is not None:  # CASE x WHEN v: comparisons left as written
            self.children(node)
            return node, None
        whens = list(node.args)
        for when in whens:
            when.expr = self.visit(when.expr)[0]
        # transformCaseExpr hands select_common_type the ELSE result first (an implicit ELSE
        # NULL is a literal): among strings, the first decides.
        results = tuple(w.result for w in whens)
        has_default = node.defresult is not None
        if has_default:
            results = (node.defresult, *results)
        typed, kind = self._common(results, node)
        if has_default:
            node.defresult, typed = typed[0], typed[1:]
        for when, result in zip(whens, typed, strict=True):
            when.result = result
        return node, kind


class _QueryTyper(_Typer):
    """Types a view query whose column references ``normalize.views`` resolved through its
    FROM items: a reference's type is known by node, not by name, so subqueries are typed
    too (each reference was resolved at its own level); a relabel that is an output
    column's value stays (it types the view's column). Records each SELECT level's output
    types for the level above (a scalar subquery) and for ``query_output_types``."""

    def __init__(self, columns: Mapping[int, str], outputs: Container[int],
                 functions: Container[str]) -> None:
        super().__init__({}, frozenset(), functions)  # type: ignore[arg-type]
        self.columns = columns
        self.outputs = outputs
        #: Output column types (canonical, None where unknown) of each SELECT, by ``id``.
        self.levels: dict[int, list[str | None]] = {}
        #: Each target's kind, by the ``id`` of its ResTarget.
        self.kinds_of: dict[int, str | None] = {}

    def keeps(self, node: Any) -> bool:
        return id(node) in self.outputs

    def visit_ColumnRef(self, node: Any) -> tuple[Any, str | None]:
        found = self.columns.get(id(node))
        return node, None if found is None else _kind(found)

    def visit_SubLink(self, node: Any) -> tuple[Any, str | None]:
        self.children(node)
        if node.subLinkType == enums.SubLinkType.EXISTS_SUBLINK:
            return node, _BOOL
        if node.subLinkType == enums.SubLinkType.EXPR_SUBLINK:
            found = self.levels.get(id(node.subselect)) or [None]
            return node, None if len(found) != 1 or found[0] is None else _kind(found[0])
        return node, None

    def visit_SelectStmt(self, node: Any) -> tuple[Any, str | None]:
        self.children(node)
        if node.op != enums.SetOperation.SETOP_NONE:
            # The branches' common types: settled here only where every branch agrees.
            left, right = self.levels.get(id(node.larg)), self.levels.get(id(node.rarg))
            if left is not None and right is not None and len(left) == len(right):
                self.levels[id(node)] = [a if a == b else None
                                         for a, b in zip(left, right, strict=True)]
            return node, None
        types: list[str | None] = []
        for target in node.targetList or ():
            value = target.val if isinstance(target, ast.ResTarget) else None
            if isinstance(value, ast.ColumnRef):
                types.append(self.columns.get(id(value)))
            else:
                types.append(_output_type(self.kinds_of.get(id(target))))
        self.levels[id(node)] = types
        return node, None

    def visit_ResTarget(self, node: Any) -> tuple[Any, str | None]:
        kind = None
        if node.val is not None:
            node.val, kind = self.visit(node.val)
        self.kinds_of[id(node)] = kind
        if node.indirection:
            node.indirection = self.visit(node.indirection)[0]
        return node, None


#: Kinds as canonical type names, where the kind alone says the type (a numeric's modifier
#: is not known from its kind: left out).
_KIND_TYPES = {"int2": "smallint", "int4": "integer", "int8": "bigint",
               "float8": "double precision", _BOOL: "boolean", _UNKNOWN: "text"}


def _output_type(kind: str | None) -> str | None:
    """An output column's canonical type from its expression's kind (a string literal's
    column is text: unknown output columns are resolved to text since PostgreSQL 10)."""
    if kind is None or kind == "numeric":
        return None
    return _KIND_TYPES.get(kind, kind)


def type_query(stmt: ast.SelectStmt, columns: Mapping[int, str], outputs: Container[int],
               functions: Container[str]) -> list[str | None] | None:
    """Add and drop, in place, the casts parse analysis adds to a view query's operands, as
    ``typed_equivalent`` does for a table's expressions: ``columns`` holds the canonical type
    of each resolved column reference (by ``id``), ``outputs`` the ``id`` of every node
    whose type is an output column's (a target's value, and the arguments of a COALESCE,
    GREATEST or CASE there: a relabel there stays), ``functions`` the bare names that may be a user's own
    function. Returns the query's output column types (None for one not known; None when the
    query is no SELECT)."""
    typer = _QueryTyper(columns, outputs, functions)
    typer.visit(stmt)
    return typer.levels.get(id(stmt))


def _operator_input(op: str | None, left: str | None, right: str | None) -> str | None:
    """The input type of the built-in operator ``op`` resolves to for these operand kinds,
    when parse analysis must cast an operand to reach it; None when no cast is needed or
    the kinds are not both known numeric ones."""
    if left not in _RANK or right not in _RANK:
        return None
    wider = left if _RANK[left] >= _RANK[right] else right  # type: ignore[index]
    if op == "^":
        return "numeric" if wider == "numeric" else "float8"
    if op == "%":
        return None if wider == "float8" else wider  # no float8 % operator: left as written
    if op in _ARITHMETIC or op in _COMPARISONS:
        if left in _INTEGERS and right in _INTEGERS:
            return None  # cross-width integer operators exist
        return wider
    return None


#: The cast parse analysis adds to reach each string kind, and the kind's type without a
#: modifier (the common type of arguments whose modifiers differ).
_STRING_CASTS = {"text": "text", "varchar": "varchar", "bpchar": "bpchar"}
_UNBOUNDED = {"text": "text", "varchar": "character varying", "bpchar": "character"}


def _common_string(typed: list[tuple[Any, str | None]], *, relabel: bool = False
                   ) -> tuple[tuple[Any, ...], str | None]:
    """``select_common_type`` over text, varchar and char(n) (COALESCE, GREATEST/LEAST,
    CASE results), whose arguments are all strings or literals.

    The three convert to each other implicitly and only text is the category's preferred
    type, which wins only over a type it cannot be converted to: so the first argument that
    is not a literal decides (``COALESCE(v, t)`` on a varchar and a text is varchar, and the
    server prints ``COALESCE(v, (t)::character varying)``). Every other argument of another
    kind gets the cast to it, except a varchar becoming text (the relabel the canonical form
    drops wherever the server writes it, ``unchanged_by_cast``) unless ``relabel`` says such
    casts are kept here (the result is a view's output column, whose type they set). The
    result keeps its modifier only when every argument has the same type
    (``select_common_typmod``)."""
    kinds = [k for _, k in typed if k != _UNKNOWN]
    target = string_kind(kinds[0])
    assert target is not None
    result = kinds[0] if len(set(kinds)) == 1 else _UNBOUNDED[target]
    out = []
    for node, kind in typed:
        own = string_kind(kind)
        if own is not None and own != target and not _is_constant(node) and (
                relabel or not (own == "varchar" and target == "text")):
            node = _cast(node, _STRING_CASTS[target])
        out.append(node)
    return tuple(out), result


@lru_cache(maxsize=4096)
def _typed_tree(text: str, kinds: tuple[tuple[str, str | None], ...],
                qualifiers: frozenset[str], functions: frozenset[str]) -> ast.Node:
    plain = expression_tree(text)  # validates the text, and is the answer when uncertain
    select: Any = pglast.parse_sql(f"SELECT {text.strip()}")[0].stmt
    node = select.targetList[0].val
    try:
        node = _Typer(dict(kinds), qualifiers, functions).visit(node)[0]
    except _Uncertain:
        return plain
    return _rewrite(node, None)


def typed_canonical(text: str, kinds: Mapping[str, str | None], *,
                    functions: frozenset[str] = frozenset(TEXT_FUNCTIONS)) -> str:
    """The canonical text of an expression typed with its table's column kinds, as
    ``typed_equivalent`` compares it; ``functions`` are names that may be a user's own (by
    default every one ``TEXT_FUNCTIONS`` holds: none of their casts is assumed)."""
    return _deparse(_typed_tree(text, tuple(sorted(kinds.items())), frozenset(), functions),
                    "expression", text)


def typed_equivalent(a: str, b: str, a_kinds: Mapping[str, str | None],
                     b_kinds: Mapping[str, str | None], *,
                     qualifiers: frozenset[str] = frozenset(),
                     a_functions: frozenset[str] = frozenset(),
                     b_functions: frozenset[str] = frozenset()) -> bool:
    """Whether two expressions mean the same once each side's operands carry the casts
    parse analysis adds (numeric promotions, char(n) under text operators) and lose the ones
    that cannot change the meaning (a varchar relabelled to text, a cast to the column's own
    type), with its own table's column kinds (``column_kinds``).

    ``qualifiers`` are the names a column may be qualified with (the table's; ``new`` and
    ``old`` in a trigger's WHEN); ``*_functions`` the names of each side's own functions.
    Raises ``SqlError`` for text that is not an expression.
    """
    tree_a = _typed_tree(a, tuple(sorted(a_kinds.items())), qualifiers, a_functions)
    tree_b = _typed_tree(b, tuple(sorted(b_kinds.items())), qualifiers, b_functions)
    if tree_a == tree_b:
        return True
    return _deparse(tree_a, "expression", a) == _deparse(tree_b, "expression", b)


# --------------------------------------------------------------------------- the differ's hook


def unsettled(found: list[Difference], expected: Catalog, actual: Catalog) -> list[Difference]:
    """The differences left once expressions are compared with their tables' column types.

    The differ compares expressions without context (cheap, and enough for nearly all); a
    changed CHECK, generated column, index key or predicate, policy or trigger WHEN that may
    differ only by the casts the server added is compared again here, each side with its own
    catalog's table. Everything else is kept as found.
    """
    columns: dict[str, tuple[Table, Table]] | None = None
    functions: tuple[frozenset[str], frozenset[str]] | None = None
    kept = []
    for d in found:
        if d.change != "changed" or d.attribute not in CAST_ATTRIBUTES:
            kept.append(d)
            continue
        if functions is None:
            functions = _function_names(expected), _function_names(actual)
        if d.object_type == "domain":
            settled = _domain_settled(d, expected, actual, functions)
        elif d.object_type == "column":
            if columns is None:
                columns = _columns(expected, actual)
            pair = columns.get(d.name)
            settled = pair is not None and _column_settled(d, *pair, functions)
        else:
            settled = _child_settled(d, expected, actual, functions)
        if not settled:
            kept.append(d)
    return kept


def _function_names(catalog: Catalog) -> frozenset[str]:
    """The names of a catalog's functions, in any schema (one may shadow a built-in)."""
    return frozenset(f.name for f in catalog.functions.values())


def _columns(expected: Catalog, actual: Catalog) -> dict[str, tuple[Table, Table]]:
    """Column keys (as the differ names them) -> the table on each side."""
    out = {}
    for key, table in expected.tables.items():
        other = actual.tables.get(key)
        if other is not None:
            for col in table.columns:
                out[qualified(table.schema_name, table.name, col.name)] = (table, other)
    return out


def _column_settled(d: Difference, expected: Table, actual: Table,
                    functions: tuple[frozenset[str], frozenset[str]]) -> bool:
    if d.attribute != "generated" or not isinstance(d.expected, str) or not isinstance(
            d.actual, str):
        return False
    return typed_equivalent(d.expected, d.actual, column_kinds(expected.columns),
                            column_kinds(actual.columns),
                            qualifiers=frozenset({expected.name}),
                            a_functions=functions[0], b_functions=functions[1])


def _domain_settled(d: Difference, expected: Catalog, actual: Catalog,
                    functions: tuple[frozenset[str], frozenset[str]]) -> bool:
    """A domain's CHECKs, each equal once ``VALUE`` is typed as the domain's base type on each
    side: over a varchar the server stores ``(VALUE)::text ~ ...``, the relabel a varchar
    column gets, and over a char(n) it casts VALUE to text for ``upper``."""
    if d.attribute != "checks" or not isinstance(d.expected, dict) or not isinstance(
            d.actual, dict) or d.expected.keys() != d.actual.keys():
        return False
    domains = expected.domains.get(d.name), actual.domains.get(d.name)
    if domains[0] is None or domains[1] is None:
        return False
    a_kinds, b_kinds = {"value": _kind(domains[0].type)}, {"value": _kind(domains[1].type)}
    from pgspec.normalize.compare import equivalent

    return all(
        equivalent("expression", text, d.actual[name])
        or typed_equivalent(text, d.actual[name], a_kinds, b_kinds,
                            a_functions=functions[0], b_functions=functions[1])
        for name, text in d.expected.items()
    )


def _child_settled(d: Difference, expected: Catalog, actual: Catalog,
                   functions: tuple[frozenset[str], frozenset[str]]) -> bool:
    kind = d.object_type
    if kind not in ("constraint", "index", "trigger", "policy"):
        return False
    a, b = expected.objects(kind).get(d.name), actual.objects(kind).get(d.name)
    if a is None or b is None:
        return False
    table_a, table_b = expected.tables.get(a.table_key), actual.tables.get(b.table_key)
    if table_a is None or table_b is None:
        return False
    kinds_a, kinds_b = column_kinds(table_a.columns), column_kinds(table_b.columns)
    qualifiers = frozenset({"new", "old"} if kind == "trigger" else {table_a.name})
    if d.attribute == "keys":
        return _keys_settled(a.keys, b.keys, kinds_a, kinds_b, qualifiers, functions)
    attribute = d.attribute or ""
    x, y = getattr(a, attribute, None), getattr(b, attribute, None)
    if not isinstance(x, str) or not isinstance(y, str):
        return False
    if typed_equivalent(x, y, kinds_a, kinds_b, qualifiers=qualifiers,
                        a_functions=functions[0], b_functions=functions[1]):
        return True
    return kind == "policy" and subqueries_equivalent(x, y, table_a, table_b, expected, actual)


def subqueries_equivalent(a: str, b: str, table_a: Table, table_b: Table, catalog_a: Catalog,
                          catalog_b: Catalog) -> bool:
    """Whether two expressions holding subqueries (a policy's ``EXISTS (SELECT ... FROM
    members m WHERE m.role = 'admin')``) mean the same, read as the query ``SELECT <expr>
    FROM <table>`` against each side's catalog: ``normalize.views`` knows the columns of
    every relation a subquery names, where ``typed_equivalent`` leaves subqueries as written.
    False for expressions without a subquery (nothing to learn there)."""
    from pgspec.normalize.trees import nodes
    from pgspec.normalize.views import catalog_relations, queries_equivalent

    if not any(isinstance(n, ast.SubLink) for n in nodes(expression_tree(a))) and not any(
            isinstance(n, ast.SubLink) for n in nodes(expression_tree(b))):
        return False
    query_a = f"SELECT {a.strip()} FROM {qualified(table_a.schema_name, table_a.name)}"
    query_b = f"SELECT {b.strip()} FROM {qualified(table_b.schema_name, table_b.name)}"
    try:
        return queries_equivalent(query_a, query_b, catalog_relations(catalog_a),
                                  catalog_relations(catalog_b))
    except SqlError:
        return False


def _keys_settled(a: list[IndexKey], b: list[IndexKey], kinds_a: Mapping[str, str | None],
                  kinds_b: Mapping[str, str | None], qualifiers: frozenset[str],
                  functions: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Index keys equal but for expressions equal with their casts (an index expression is
    typed like any other: ``DefineIndex`` runs ``transformExpr`` on it)."""
    if len(a) != len(b):
        return False
    from pgspec.normalize.compare import equivalent

    for x, y in zip(a, b, strict=True):
        if x.model_copy(update={"expression": None}) != y.model_copy(
                update={"expression": None}):
            return False
        if x.expression == y.expression:
            continue
        if x.expression is None or y.expression is None:
            return False
        if not (equivalent("expression", x.expression, y.expression) or typed_equivalent(
                x.expression, y.expression, kinds_a, kinds_b, qualifiers=qualifiers,
                a_functions=functions[0], b_functions=functions[1])):
            return False
    return True
