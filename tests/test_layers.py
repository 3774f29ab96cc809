"""Imports point one way: `crawler` → `model` ← `pipelines` (README, Layout)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package -> the project packages it must not import
FORBIDDEN = {"model": {"crawler", "pipelines"}, "crawler": {"pipelines"}, "pipelines": {"crawler"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, at module level or inside functions and TYPE_CHECKING blocks."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_it_must_not(package: str) -> None:
    crossings = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in crossings.items() if names} == {}


def test_the_spider_loads_no_dedup_machinery() -> None:
    """Importing the spider (as `scrapy list` or a worker's start does) loads no pipeline, numba or Redis client."""
    heavy = "{'pipelines', 'numba', 'datasketch', 'redis', 'scrapy_redis'}"
    code = f"import sys, crawler.spiders.news; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
