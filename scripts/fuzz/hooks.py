"""Schemathesis hooks for todoql: the one check that matters for a GraphQL server whose every
failure is a GraphQL error with a contract code (see shared/api-contract.graphql).

Schemathesis' own GraphQL checks count any error answer as a failure; todoql answers errors on
purpose (UNAUTHENTICATED, BAD_USER_INPUT, ...), so run.sh selects this check alone.
"""

import json

import graphql
import schemathesis
from hypothesis import strategies as st

# extensions.code values of the contract, INTERNAL_SERVER_ERROR left out on purpose.
CONTRACT_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "EMAIL_NOT_VERIFIED",
    "BAD_USER_INPUT",
    "INVALID_CREDENTIALS",
    "INVALID_TOKEN",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
    "MFA_REQUIRED",
    "REAUTHENTICATION_REQUIRED",
    "RESYNC_REQUIRED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_NOT_FOUND",
}


def _json_object(pairs):
    """A GraphQL object literal for the JSON scalar (WebAuthn options and credentials)."""
    return schemathesis.graphql.nodes.Object(
        [
            graphql.ObjectFieldNode(
                name=graphql.NameNode(value=key),
                value=schemathesis.graphql.nodes.String(value),
            )
            for key, value in pairs.items()
        ]
    )


# The JSON scalar takes objects: fuzz it with small objects of strings (a credential the server
# must refuse with a contract code, never an internal error).
schemathesis.graphql.scalar(
    "JSON",
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True),
        st.text(max_size=40),
        max_size=5,
    ).map(_json_object),
)


@schemathesis.check
def todoql_contract_codes(ctx, response, case):
    """No 5xx; a JSON body; every error carries a contract code other than INTERNAL_SERVER_ERROR."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = json.loads(response.text)
    except ValueError:
        raise AssertionError(f"not JSON (HTTP {response.status_code}): {response.text[:500]}")
    if not isinstance(body, dict):
        raise AssertionError(f"not a GraphQL response: {response.text[:500]}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in CONTRACT_CODES:
            raise AssertionError(f"error code {code!r}: {json.dumps(error)[:500]}")
