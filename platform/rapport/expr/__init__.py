"""Rapport's one boolean expression language (DESIGN.md D5).

Filters (``where``), permission row rules, workflow guards, computed fields and alert rules are
all written in this language. A document is parsed once against an entity
(:func:`parse_where`), then either compiled to SQL for sets of rows (:func:`compile_sql`) or
evaluated in Python for one record (:func:`evaluate`). Both back ends read the same AST and the
test suite checks on a real database that they select the same records.

Shape
-----
A filter is a JSON object; its entries are ANDed::

    {"level": {"_in": ["beginner", "intermediate"]},
     "startDate": {"_gte": "2026-01-01"},
     "_or": [{"capacity": {"_lte": 10}}, {"online": {"_eq": true}}],
     "trainer": {"name": {"_ilike": "%wang%"}},
     "enrollments": {"_some": {"grade": {"_gte": 90}}}}

Keys:

* a field's GraphQL name, including the system fields ``id createdAt updatedAt createdBy
  version``, with an object of operators (several operators on one field are ANDed);
* a relation field (``trainer``) with a filter on the related record — true when the record has
  one and it matches; its ``<name>Id`` (``trainerId``) compares the uuid itself;
* a reverse relation (``courses`` on a trainer) or a many-to-many field (``trainees`` on a
  course) with ``{"_some": {…}}`` (at least one related record matches), ``{"_none": {…}}``
  (none does) or ``{"_every": {…}}`` (all do; true when there are none);
* a computed boolean field with ``{"_eq": true}`` or ``{"_eq": false}``;
* a tree filter ``{"department": {"_descendants_of": <id | [ids] | $var>}}`` on a relation into
  a tree entity (one with a self-relation, e.g. ``org/department.parent``), or ``{"id":
  {"_descendants_of": …}}`` on the tree entity itself: true when the record's node is a given
  node or below it (see Trees below);
* ``_and: [f, …]`` (``[]`` is true), ``_or: [f, …]`` (``[]`` is false), ``_not: f``.

``{}`` is true: an empty filter matches every record.

Operators
---------
==============  ===============================================================  ============
operator        meaning                                                          operand
==============  ===============================================================  ============
_eq, _neq       equal / not equal                                                value
_gt _gte        greater (or equal)                                               value
_lt _lte        less (or equal)                                                  value
_between        ``low <= field <= high`` (inclusive)                             [low, high]
_in, _nin       one of / none of                                                 list
_is_null        true: has no value; false: has one                               true | false
_like           SQL LIKE: ``%`` any run, ``_`` one character, ``\\`` escapes      pattern
_ilike          _like ignoring the case of A–Z (see Text below)                  pattern
_starts_with    begins with the text (taken literally: ``%`` and ``_`` too)      text
_contains       text: contains the substring (literally); multi-enum: holds       see left
                every given value (one value or a list); json/file: jsonb ``@>``
==============  ===============================================================  ============

By field kind:

* string, text, email, phone, url: all operators;
* enum: ``_eq _neq _in _nin _is_null _like _ilike _starts_with _contains`` (values are checked
  against the enum, patterns are not);
* integer, rating, decimal, money, float, date, datetime: ``_eq _neq _gt _gte _lt _lte _in
  _nin _is_null _between``;
* boolean: ``_eq _neq _is_null``; uuid (``id``, ``<relation>Id``): ``_eq _neq _in _nin _is_null``;
* multi-enum, json, file: ``_contains _is_null``; computed: ``_eq``.

Values are JSON: dates as ``"YYYY-MM-DD"``, date-times as ISO 8601 (without an offset they are
UTC), decimal and money as numbers or numeric strings (``"12.50"``, compared exactly), integers
as whole numbers (``3`` or ``"3"``, never ``true`` or ``3.5``), uuids as strings.

Null semantics
--------------
A comparison with a missing value (SQL NULL, Python None) is false — except two that ask about
absence: ``_neq`` is ``IS DISTINCT FROM`` (a record without a value is "not equal" to 5) and
``_nin`` is true for a record without a value. ``_not`` negates that two-valued result, so
``_not: {"capacity": {"_gt": 5}}`` matches records with no capacity. ``_eq: null`` is an error:
write ``_is_null``. A JSON ``null`` stored in a json field counts as null. A missing related
record makes a relation filter false (and its ``_not`` true).

Text
----
String ordering (``_gt``, ``_between`` …) is by Unicode code point (PostgreSQL ``COLLATE
"C"``), not by the database's locale: ``"Z" < "a"``, and Chinese sorts by code point, not by
pinyin. ``_ilike`` folds only A–Z (``COLLATE "C"`` again): ``"wang"`` matches ``"WANG"``,
Chinese has no case, and ``"é"`` does not match ``"É"``. Both choices make the answer the
same on every server and in Python.

Variables
---------
A string operand starting with ``$`` is a variable, resolved when the expression runs:
``$user.id`` (the principal's subject), ``$user.roles`` (a list), ``$user.<attribute>`` (any
attribute of the principal, e.g. ``$user.departments``) and ``$now`` (the current date-time;
against a date field, today's date in UTC). ``$$`` writes a literal dollar (``"$$5"`` is the
text ``$5``). A variable stands for a whole operand: ``{"department": {"_in":
"$user.departments"}}``; a variable holding null matches nothing (``_nin``/``_neq`` everything
non-null), a list operator given a single value treats it as a one-element list.

Trees
-----
``_descendants_of`` takes a uuid, a list of uuids or a variable holding either (``"$user.
departmentId"``, ``"$user.departments"``); it is the only key of its object, except
``"_via": "<self-relation>"``, which names the tree edge when the tree entity has more than one
self-relation (with exactly one it is optional; with none the filter is an error). It is
allowed on a relation field (``department``), its ``<name>Id`` and on ``id`` of a tree entity.
SQL walks down from the given nodes with a ``WITH RECURSIVE … UNION`` subquery: UNION drops rows
already found, so a cycle in the parent links ends the walk instead of looping. Python walks up
from the record's node and needs the tree's parent links in the variables under
``"tree:<entity id>"`` (a mapping node id → parent id or None; :func:`evaluate` raises when
it is missing); it stops at a node it has seen, so cycles end there too. Both agree: the
record matches when the given nodes include its node or any node on its parent chain.
"""

from __future__ import annotations

from rapport.expr.ast import (
    FALSE,
    OPERATORS,
    TRUE,
    And,
    Compare,
    Descendants,
    Expr,
    Literal,
    Not,
    Or,
    Quantifier,
    Related,
    RelationKind,
    Value,
    Variable,
)
from rapport.expr.evaluate import evaluate
from rapport.expr.operands import operators_for
from rapport.expr.parse import parse_where
from rapport.expr.sql import ParamList, SqlContext, compile_sql
from rapport.expr.variables import variables_for, variables_in

__all__ = [
    "FALSE",
    "OPERATORS",
    "TRUE",
    "And",
    "Compare",
    "Descendants",
    "Expr",
    "Literal",
    "Not",
    "Or",
    "ParamList",
    "Quantifier",
    "Related",
    "RelationKind",
    "SqlContext",
    "Value",
    "Variable",
    "compile_sql",
    "evaluate",
    "operators_for",
    "parse_where",
    "variables_for",
    "variables_in",
]
