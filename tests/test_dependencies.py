"""Dependencies that match use: pyproject.toml declares what the code imports, and only that.

The project's Python files are parsed (not imported) for their imports, every level
included; the portal is disclosures/, checklist/, disclosure_portal/ and manage.py, and
what disclosure_portal/settings.py names as dotted strings (INSTALLED_APPS, MIDDLEWARE…)
counts as used. Distributions map to the modules they install through
importlib.metadata. A few runtime dependencies are used without an import of ours; each
is listed below with a check that the reason still holds.
"""

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PORTAL_DIRS = ("disclosures", "checklist", "disclosure_portal", "subscriptions")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(specs):
    return {normalize(re.match(r"[A-Za-z0-9._-]+", spec)[0]) for spec in specs}


RUNTIME = declared(PYPROJECT["project"]["dependencies"])
TEST = declared(PYPROJECT["project"]["optional-dependencies"]["test"])


@functools.cache
def installed_modules():
    return packages_distributions()


def providers(module):
    """The (normalized) distributions that install top-level module ``module``."""
    return {normalize(dist) for dist in installed_modules().get(module, ())}


def project_top_level_names():
    names = {path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    return names | {"manage", "conftest"}


def imported_top_level_modules(paths):
    """Third-party top-level modules imported anywhere in ``paths`` -> the files importing them."""
    own = project_top_level_names()
    found = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def portal_files():
    files = [path for name in PORTAL_DIRS for path in sorted((ROOT / name).rglob("*.py"))]
    return files + [ROOT / "manage.py"]


def files_of_tests_and_scripts():
    tests = [path for path in sorted((ROOT / "tests").rglob("*.py")) if "vendor" not in path.parts]
    return tests + sorted((ROOT / "scripts").glob("*.py"))


def settings_module_names():
    """Top-level modules named by dotted strings in settings.py ("whitenoise.middleware.…")."""
    tree = ast.parse((ROOT / "disclosure_portal/settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*", node.value)
            if match:
                names.add(node.value.split(".")[0])
    return names


def _read(path):
    return (ROOT / path).read_text(encoding="utf-8")


# Runtime dependencies the portal uses without importing them itself, and the proof.
USED_WITHOUT_AN_IMPORT = {
    "argon2-cffi": (
        "Django's Argon2PasswordHasher, the first of PASSWORD_HASHERS, imports argon2",
        # (read from settings.py: the tests' fixture swaps the hashers for a fast one)
        lambda: (
            '"django.contrib.auth.hashers.Argon2PasswordHasher"' in _read("disclosure_portal/settings.py")
        ),
    ),
    "psycopg2-binary": (
        "Django's PostgreSQL backend (DATABASE_URL=postgres://…, CI's second run)",
        lambda: 'DATABASE_URL="postgres://' in _read(".ci/run") and "postgres://" in _read("README.md"),
    ),
    "gunicorn": (
        "the WSGI server of the README's production command and of scripts/bench.py",
        lambda: (
            "gunicorn disclosure_portal.wsgi" in _read("README.md")
            and "gunicorn" in _read("scripts/bench.py")
        ),
    ),
    "pydyf": (
        "WeasyPrint's PDF writer, whose objects the harness's last finisher writes once",
        lambda: "def _write_each_object_once(pdf)" in _read("disclosures/pdf/harness.py"),
    ),
    "django-ipware": (
        "django-axes finds the client's address with it (the AXES_IPWARE_* settings)",
        lambda: "AXES_IPWARE_META_PRECEDENCE_ORDER" in _read("disclosure_portal/settings.py"),
    ),
    "redis": (
        "Django's RedisCache (CACHE_URL=redis://…, CI's Redis run) imports redis",
        lambda: (
            'CACHE_URL="redis://' in _read(".ci/run")
            and "env.cache_url" in _read("disclosure_portal/settings.py")
        ),
    ),
    "qrcode": (
        "django-otp's TOTP admin draws the QR code to scan with it (django_otp.qr)",
        lambda: "disclosure_portal.apps.TOTPConfig" in settings.INSTALLED_APPS,
    ),
}


def test_every_module_the_portal_imports_is_a_declared_runtime_dependency():
    missing = {
        module: sorted(files)
        for module, files in imported_top_level_modules(portal_files()).items()
        if not providers(module) & RUNTIME
    }
    assert missing == {}, f"imported by the portal but not in [project] dependencies: {missing}"


def test_every_runtime_dependency_is_used_by_the_portal():
    used_modules = set(imported_top_level_modules(portal_files())) | settings_module_names()
    used = set().union(*(providers(module) for module in used_modules))
    unused = sorted(RUNTIME - used - set(USED_WITHOUT_AN_IMPORT))
    assert unused == [], f"declared in [project] dependencies, used by no portal code: {unused}"
    for name, (reason, still_true) in USED_WITHOUT_AN_IMPORT.items():
        assert name in RUNTIME, f"{name} is listed as used but not declared"
        assert still_true(), f"{name}: {reason} — no longer the case"


def test_every_module_the_tests_and_scripts_import_is_declared():
    missing = {
        module: sorted(files)
        for module, files in imported_top_level_modules(files_of_tests_and_scripts()).items()
        if not providers(module) & (RUNTIME | TEST)
    }
    assert missing == {}, f"imported by tests or scripts but declared nowhere: {missing}"


def test_every_test_dependency_is_used_by_the_tests_or_ci():
    imported = set().union(*(providers(m) for m in imported_top_level_modules(files_of_tests_and_scripts())))
    plugins = {normalize(ep.dist.name) for ep in entry_points(group="pytest11")}
    ci = _read(".ci/run") + _read("Makefile")
    unused = sorted(
        name
        for name in TEST
        if name not in imported and name not in plugins and not re.search(rf"\b{re.escape(name)}\b", ci)
    )
    assert unused == [], f"in the test extra but used by no test, plugin or CI command: {unused}"


def test_test_only_libraries_stay_out_of_the_runtime_dependencies():
    """jsonschema checks the snapshot schema in the tests only; the portal never imports it."""
    portal = set().union(*(providers(m) for m in imported_top_level_modules(portal_files())))
    assert "jsonschema" not in portal
    assert "jsonschema" not in RUNTIME and "jsonschema" in TEST
    assert "fonttools" in RUNTIME  # disclosures.pdf.fonts reads the fonts' character maps
