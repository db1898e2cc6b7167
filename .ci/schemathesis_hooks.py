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
import schemathesis


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
