"""Schemathesis hooks for .ci/schemathesis.sh (loaded via SCHEMATHESIS_HOOKS).

Keyset cursors are opaque and signed: a client can only send one
the server made, or an empty one for the first page. `page`, `offset` and
`cursor` are three ways to say where a page starts, one at a time. The
document states this, but JSON Schema cannot express a signature or a
dependency between parameters, so generated queries with a forged cursor,
or with more than one of the three, are dropped. Both are answered 400,
which tests/it/query.rs and tests/it/page_budget.rs check.

List parameters (`fields`, `ordering`, `x__in`) are sent comma-separated
(form style, not exploded), where an empty list, a list of one empty string
and an empty string are the same text, `name=`. The empty list is valid (a
cleared selection: the defaults, or no filter), so the server accepts that
text; generated "invalid" cases that serialise to it are the same request
as a valid one and are dropped.
"""
import re

import schemathesis
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance as _positive_data_acceptance,
)


def _client_can_send(query):
    if not isinstance(query, dict):
        return True
    if sum(name in query for name in ("page", "offset", "cursor")) > 1:
        return False
    return query.get("cursor") in ("", None)


def _list_parameter(name):
    return name in ("fields", "ordering") or name.endswith("__in")


def _unambiguous(query):
    if not isinstance(query, dict):
        return True
    return not any(_list_parameter(k) and v in ("", [""]) for k, v in query.items())


@schemathesis.hook
def filter_case(context, case):
    # Every phase (coverage included) passes its cases through this hook.
    return _client_can_send(case.query) and _unambiguous(case.query)


# A foreign key naming a row that does not exist is answered 422 naming the
# field ("no category with id 3"), as lightapi must: which ids exist is
# state, which the document cannot tell the fuzzer (as with 409 for a value
# a unique field already holds). The built-in positive-data check is off
# (.ci/schemathesis.toml) and runs here for every other answer.
_UNKNOWN_REFERENCE = re.compile(r"^no \S+ with id -?\d+$")


def _only_unknown_references(response):
    if response.status_code != 422:
        return False
    try:
        errors = response.json().get("errors") or []
    except Exception:
        return False
    return bool(errors) and all(
        isinstance(e, dict) and _UNKNOWN_REFERENCE.match(str(e.get("message", "")))
        for e in errors
    )


@schemathesis.check
def positive_data_acceptance_but_unknown_references(ctx, response, case):
    if _only_unknown_references(response):
        return None
    return _positive_data_acceptance(ctx, response, case)
