"""Schemathesis hooks for .ci/schemathesis.sh (loaded via SCHEMATHESIS_HOOKS).

Keyset cursors are opaque and signed: a client can only send one
the server made, or an empty one for the first page, and never together with
`page`. The document states this, but JSON Schema cannot express a signature
or a dependency between two parameters, so generated queries with a forged
cursor, or with both `cursor` and `page`, are dropped. Both are answered 400,
which tests/query.rs checks.
"""
import schemathesis


def _client_can_send(query):
    if not isinstance(query, dict) or "cursor" not in query:
        return True
    return query["cursor"] in ("", None) and "page" not in query


@schemathesis.hook
def filter_case(context, case):
    # Every phase (coverage included) passes its cases through this hook.
    return _client_can_send(case.query)
