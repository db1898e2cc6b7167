#!/usr/bin/env python3
"""Validates an OpenAPI document against the OpenAPI 3.1 schema.

Usage: openapi_check.py URL_OR_FILE

Needs `openapi-spec-validator` (see .ci/requirements.txt). Exits 0 when the
document is valid OpenAPI 3.1, 1 (with the reasons) otherwise.
"""
import json
import sys
import urllib.request

from openapi_spec_validator import OpenAPIV31SpecValidator


def load(location):
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=10) as resp:
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.startswith("application/json"):
                raise SystemExit(f"{location}: Content-Type is {ctype!r}, not JSON")
            return json.load(resp)
    with open(location, encoding="utf-8") as f:
        return json.load(f)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    spec = load(sys.argv[1])
    if spec.get("openapi", "").split(".")[:2] != ["3", "1"]:
        print(f"not OpenAPI 3.1: openapi={spec.get('openapi')!r}")
        return 1
    errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
    for e in errors:
        path = "/".join(str(p) for p in e.absolute_path)
        print(f"invalid at /{path}: {e.message}")
    if errors:
        return 1
    ops = sum(
        1
        for item in spec.get("paths", {}).values()
        for m in item
        if m in ("get", "put", "post", "delete", "patch", "head", "options")
    )
    print(f"OpenAPI 3.1 document valid: {len(spec['paths'])} paths, {ops} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
