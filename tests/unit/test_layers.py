"""The layers, read from the imports: the domain (``stoplist.domain``) knows its ports, never an adapter, the wiring,
an AWS SDK or an HTTP client. Every import counts, at the top of a module, inside a function or under
``TYPE_CHECKING``, so that a late import cannot hide a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "shared" / "stoplist" / "domain"
DOMAIN_PACKAGE = "stoplist.domain"
# Prefixes the domain must not import: a module is refused when its name is one of these or starts with one
# followed by a dot (``mypy_boto3_`` is a prefix of each service's stubs: ``mypy_boto3_dynamodb``, ...).
FORBIDDEN = ("stoplist.adapters", "stoplist.wiring", "boto3", "botocore", "requests")
FORBIDDEN_PREFIXES = ("mypy_boto3_",)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """Every module ``source`` imports, with its line, relative imports resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from stoplist import adapters`` imports a forbidden package by its last name.
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return sorted(found)


def is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN) or module.startswith(
        FORBIDDEN_PREFIXES
    )


def violations(source: str, package: str = DOMAIN_PACKAGE) -> list[str]:
    return [f"line {line}: {module}" for line, module in imported_modules(source, package) if is_forbidden(module)]


def test_the_checker_flags_every_kind_of_forbidden_import() -> None:
    sample = """
from __future__ import annotations
from typing import TYPE_CHECKING
import botocore.exceptions
from stoplist.adapters.table import StopListTable
from stoplist import wiring
from .. import adapters
if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

def late() -> None:
    import boto3
    import requests
"""
    assert violations(sample) == [
        "line 4: botocore.exceptions",
        "line 5: stoplist.adapters.table",
        "line 5: stoplist.adapters.table.StopListTable",
        "line 6: stoplist.wiring",
        "line 7: stoplist.adapters",
        "line 9: mypy_boto3_dynamodb",
        "line 9: mypy_boto3_dynamodb.DynamoDBClient",
        "line 12: boto3",
        "line 13: requests",
    ]


def test_the_checker_lets_the_domain_s_own_imports_through() -> None:
    sample = """
import requests_toolbelt_is_not_requests
from stoplist.domain.ports import OptOutStore
from stoplist.errors import AwsServiceError
from . import phone
"""
    assert violations(sample) == []


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda path: path.name)
def test_the_domain_imports_no_adapter_wiring_sdk_or_http_client(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


def test_the_domain_folder_is_where_the_test_looks() -> None:
    assert (DOMAIN / "ports.py").is_file()
    assert (DOMAIN / "links.py").is_file()
