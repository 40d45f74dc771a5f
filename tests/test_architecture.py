"""The architecture's rules, checked on the code itself."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect as sa_inspect

from app.db.models import NAMING_CONVENTION, metadata
from app.db.models.base import Resource

APP = Path(__file__).resolve().parents[1] / "app"
WEB_FRAMEWORKS = ("fastapi", "starlette", "strawberry", "uvicorn", "httpx")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_layer_imports_no_web_framework() -> None:
    offenders = {
        f"{path.relative_to(APP)}: {module}"
        for path in (APP / "domain").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in WEB_FRAMEWORKS or module.startswith("app.api")
    }
    assert offenders == set()


def test_the_persistence_layer_imports_no_web_framework_or_adapter() -> None:
    offenders = {
        f"{path.relative_to(APP)}: {module}"
        for path in (APP / "db").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in WEB_FRAMEWORKS or module.startswith("app.api")
    }
    assert offenders == set()


def test_services_never_commit() -> None:
    """The edge (request, mutation, job) owns the transaction; services only flush."""
    offenders = [
        str(path.relative_to(APP))
        for path in (APP / "domain").rglob("*.py")
        if ".commit()" in path.read_text()
    ]
    assert offenders == []


def test_every_relationship_refuses_to_lazy_load() -> None:
    import app.db.models as models

    relationships = [
        (mapper.class_.__name__, rel.key, rel.lazy)
        for mapper in sa_inspect(models.Employee).registry.mappers
        for rel in sa_inspect(mapper.class_).relationships
    ]
    assert relationships, "expected some relationships to check"
    assert [r for r in relationships if r[2] != "raise"] == []


def test_every_updatable_table_has_timestamps_and_a_version() -> None:
    import app.db.models as models

    for model in (models.Employee, models.Program, models.Enrollment, models.ApiToken):
        assert issubclass(model, Resource)
        columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
        assert {"id", "created_at", "updated_at", "version"} <= columns


def test_constraint_names_follow_the_convention() -> None:
    assert metadata.naming_convention == NAMING_CONVENTION
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            name = str(constraint.name)
            assert name.startswith(("pk_", "fk_", "uq_", "ck_")), (table.name, name)
        for index in table.indexes:
            assert str(index.name).startswith("ix_"), (table.name, index.name)


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    used |= {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names
    }
    return used


def test_private_notes_are_read_in_one_module_only() -> None:
    """A private note is read by its author alone. One module (which loads only the acting
    person's own notes) touches the table; no report, export, list or adapter can reach it."""
    allowed = {"domain/checkins.py", "db/models/progress.py", "db/models/__init__.py"}
    users = {
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if {"CheckInPrivateNote", "check_in_private_notes"} & _names_used(path)
        or "check_in_private_notes" in path.read_text()
    }
    assert users - allowed == set()
    assert "domain/checkins.py" in users
