"""The package as a Python program that uses it meets it: `serverless_uploads` installed as the
wheel, with the dependencies it pins, in a virtualenv of its own (the plugin's, plugin/venv, which
pip fills from plugin/requirements.txt exactly as a consumer's `pip install` does), run from a
folder outside the repository. The public names, a unit test written from Pulumi's documented
mocks template, and every Python snippet in docs/ run there."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import textwrap
import typing
from pathlib import Path

import pulumi
import pytest

import components
from components._wire import wire_fields
from components.packaging import default_cache_dir
from offline.plugin_host import install_dependencies

ROOT = Path(__file__).resolve().parent.parent
SNIPPET_PAGES = sorted((ROOT / "docs").rglob("*.md"))
MOCKS = """
import pulumi


class MyMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return [args.name + "_id", args.inputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


pulumi.runtime.set_mocks(MyMocks(), preview=False)
"""
"""Pulumi's documented mocks, as the unit testing guide writes them for Python
(https://www.pulumi.com/docs/iac/guides/testing/unit/): inputs as outputs, no invoke results."""


@pytest.fixture(scope="module")
def python() -> Path:
    return install_dependencies().virtualenv / "bin" / "python"


@pytest.fixture
def consumer(tmp_path: Path) -> Path:
    """A program's folder with its own function sources (copies of ours)."""
    shutil.copytree(ROOT / "lambda_src", tmp_path / "lambda_src",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))  # fmt: skip
    shutil.copytree(ROOT / "examples" / "minimal" / "hello", tmp_path / "examples/minimal/hello")
    return tmp_path


def _run(python: Path, folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["UPLOADS_BUILD_CACHE"] = str(default_cache_dir())  # the archives are built already
    (folder / "consumer.py").write_text(source)
    return subprocess.run(  # noqa: S603 - our own script in the consumer's virtualenv
        [python, "consumer.py"], cwd=folder, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def _types_in(hint: object) -> typing.Iterator[type]:
    if inspect.isclass(hint) and hint.__module__.startswith("components."):
        yield hint
    for arg in typing.get_args(hint):
        yield from _types_in(arg)


def _public_api() -> set[str]:
    """Every component in a public module, its args class and every type its args' fields take."""
    found: set[str] = set()
    for info in pkgutil.iter_modules(components.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"components.{info.name}")
        for name, value in vars(module).items():
            if not (inspect.isclass(value) and value.__module__ == module.__name__):
                continue
            if issubclass(value, pulumi.ComponentResource):
                args = getattr(module, f"{name}Args")
                found |= {name, args.__name__}
                for field in wire_fields(args):
                    types = _types_in(field.hint)
                    found |= {t.__name__ for t in types if dataclasses.is_dataclass(t)
                              or issubclass(t, tuple)}  # fmt: skip
    return found


def test_every_component_and_args_class_imports_from_the_package(
    python: Path, tmp_path: Path
) -> None:
    names = sorted(_public_api())
    assert {"UploadService", "UploadServiceArgs", "LifecycleRule", "Route"} <= set(names)
    assert set(names) <= set(components.__all__)
    result = _run(python, tmp_path, textwrap.dedent(f"""
        import serverless_uploads
        from serverless_uploads import {", ".join(names)}

        assert serverless_uploads.__file__.endswith("site-packages/serverless_uploads/__init__.py")
        print(sorted(serverless_uploads.__all__))
    """))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(names) <= set(eval(result.stdout))  # noqa: S307 - a list we printed


def test_a_unit_test_from_pulumis_template_passes(python: Path, consumer: Path) -> None:
    """A consumer's first test, as Pulumi's guide writes one: nothing the components compute
    from an output the template leaves unset (an API's execution ARN, a pool's endpoint)."""
    test = MOCKS + textwrap.dedent("""
        import unittest

        from serverless_uploads import PythonFunctionArgs, UploadService, UploadServiceArgs


        class TestingWithMocks(unittest.TestCase):
            @pulumi.runtime.test
            def test_the_service_builds(self):
                service = UploadService("svc", UploadServiceArgs(auth="cognito"))

                def check(args):
                    memory, force_destroy = args
                    self.assertEqual(memory, 256)
                    self.assertFalse(force_destroy)
                function, bucket = service.uploads.function, service.bucket.bucket
                return pulumi.Output.all(function.memory_size, bucket.force_destroy).apply(check)

            @pulumi.runtime.test
            def test_a_mistyped_argument_names_the_component_and_the_field(self):
                with self.assertRaises(Exception) as caught:
                    PythonFunctionArgs(source="lambda_src/uploads", memory_mb="256")
                self.assertIn("PythonFunction", str(caught.exception))
                self.assertIn("memory_mb", str(caught.exception))


        unittest.main(argv=["consumer"], verbosity=2)
    """)
    result = _run(python, consumer, test)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Ran 2 tests" in result.stderr
    assert "OK" in result.stderr


def _snippets(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


CONSUMER_PAGES = [p for p in SNIPPET_PAGES if _snippets(p) and "from offline" not in p.read_text()]
"""Pages with Python for a consumer (docs/offline-engine.md shows the repository's own tool)."""


@pytest.mark.parametrize("page", CONSUMER_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_python_snippet_in_the_docs_runs_as_a_consumer(
    python: Path, consumer: Path, page: Path
) -> None:
    for snippet in _snippets(page):
        assert "components." not in snippet, "consumers import serverless_uploads"
        source = MOCKS + "\n\n@pulumi.runtime.test\ndef snippet():\n"
        source += textwrap.indent(snippet, "    ") + "\n\nsnippet()\nprint('ran')\n"
        result = _run(python, consumer, source)
        assert result.returncode == 0, f"{page.name}: {result.stderr[-3000:]}"
        assert result.stdout.strip().endswith("ran")
