"""The component package's plugin started as the Pulumi CLI starts it, and nothing more.

Every step follows pulumi/pulumi at commit 1b5949891b (file:line cited at each step):
`pulumi package add` / `pulumi install` find the plugin folder and install its dependencies into
the virtualenv the python language host makes; the engine then asks that host to run the plugin
(`RunPlugin`) with the engine's address as the only argument, in the consumer program's working
directory, and reads the port from the plugin's first line of output. A folder the CLI would not
run fails here too, with the CLI's reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROJECT_DIR = Path(__file__).resolve().parent.parent
PLUGIN_DIR = PROJECT_DIR / "plugin"
"""The package's plugin folder (`pulumi package add <repository URL>/plugin@v<version>`)."""

PLUGIN_PROJECT_KEYS = frozenset({"runtime", "packages", "requiredPulumiVersion", "template"})
"""PulumiPlugin.yaml's keys: the fields of `PluginProject`
(sdk/go/common/workspace/project.go:945-958). Any other key, such as `main:`, is dropped."""

PACKAGE_SOURCES = ("pyproject.toml", "requirements.txt", "components", "lambda_src")
"""What requirements.txt's `..` installs: a change reinstalls it, as a new tag would."""


class NotRunnable(Exception):
    """The CLI would refuse to install or run this plugin folder (the message says why)."""


@dataclass(frozen=True)
class PythonOptions:
    """The python language host's options for a plugin (main.go parseOptions, :233-289)."""

    toolchain: str
    virtualenv: Path


def load_plugin_project(folder: Path) -> dict[str, Any]:
    """PulumiPlugin.yaml, checked as `LoadBaseProjectFrom` and `LoadPluginProject` check it."""
    manifest = folder / "PulumiPlugin.yaml"
    if not manifest.is_file():
        # pkg/workspace/plugin.go:215-222: no PulumiPlugin.yaml, nothing installed or run.
        raise NotRunnable(f"{folder}: no PulumiPlugin.yaml")
    if (folder / "Pulumi.yaml").exists():
        # sdk/go/common/workspace/loaders.go:314-326: the same depth is refused.
        raise NotRunnable(f"detected both PulumiPlugin.yaml and Pulumi.yaml in {folder}")
    project = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    unknown = sorted(set(project) - PLUGIN_PROJECT_KEYS)
    # Stricter than the CLI, on purpose: its YAML unmarshal is not strict
    # (sdk/go/common/encoding/marshal.go:111-115), so it drops such a key and runs the folder.
    if unknown:
        raise NotRunnable(f"{manifest}: {', '.join(unknown)}: not a PulumiPlugin.yaml key")
    runtime = project.get("runtime")
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if name != "python":
        raise NotRunnable(f"{manifest}: runtime {name!r}, expected python")
    return project


def python_options(folder: Path, project: dict[str, Any]) -> PythonOptions:
    """Toolchain and virtualenv for a plugin: pip and `venv` unless set (main.go:281-287),
    relative to the plugin folder (ProgramInfo root = the folder, pkg/resource/plugin/plugin.go:563;
    sdk/python/toolchain/pip.go:583-590)."""
    runtime = project["runtime"]
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        raise NotRunnable(f"toolchain {toolchain!r}: this harness makes pip virtualenvs only")
    return PythonOptions(toolchain, folder / options.get("virtualenv", "venv"))


def _buildable_pyproject(folder: Path) -> str | None:
    """The project name when the folder is a buildable package
    (sdk/python/toolchain/pyproject.go:45-55), else None."""
    path = folder / "pyproject.toml"
    if not path.is_file():
        return None
    pyproject = tomllib.loads(path.read_text(encoding="utf-8"))
    name = pyproject.get("project", {}).get("name")
    backend = pyproject.get("build-system", {}).get("build-backend")
    return name if name and backend else None


def _system_python() -> str:
    """`python3`, else `python`, on PATH (sdk/python/toolchain/pip.go:307-334)."""
    found = shutil.which(os.environ.get("PULUMI_PYTHON_CMD", "")) or shutil.which("python3")
    found = found or shutil.which("python")
    if not found:
        raise NotRunnable("failed to locate any of python3, python on PATH")
    return found


def venv_environment(virtualenv: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a command in the virtualenv (sdk/python/toolchain/toolchain.go:176-206):
    its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME dropped."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{virtualenv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(virtualenv)
    return env


def _source_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in (*PACKAGE_SOURCES, f"{folder.name}/requirements.txt"):
        root = PROJECT_DIR / name
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts and ".build" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def install_dependencies(folder: Path = PLUGIN_DIR) -> PythonOptions:
    """What `pulumi install` / `pulumi package add` do for the plugin folder
    (pkg/workspace/plugin.go:205-267 -> main.go InstallDependencies :1311-1372 ->
    sdk/python/toolchain/pip.go InstallDependencies :444-562). The virtualenv is made once and
    refilled when the package's sources change (a new checkout in the CLI's plugin cache)."""
    options = python_options(folder, load_plugin_project(folder))
    venv = options.virtualenv
    stamp = venv / ".uploads-sources"
    digest = _source_digest(folder)
    if stamp.is_file() and stamp.read_text() == digest:
        return options

    def run(*argv: str) -> None:
        # pip.go:496-500: every pip runs in the plugin folder, in the activated virtualenv.
        subprocess.run(argv, cwd=folder, env=venv_environment(venv), check=True)  # noqa: S603

    if not (venv / "bin" / "python").exists():
        # pip.go:459-468: `python -m venv <absolute venvDir>`; :536: pip, setuptools, wheel.
        subprocess.run([_system_python(), "-m", "venv", str(venv)], check=True)  # noqa: S603
        run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade",
            "pip", "setuptools", "wheel")  # fmt: skip
    if _buildable_pyproject(folder):
        # main.go:1340-1362: a buildable plugin folder is itself `pip install`ed.
        run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(folder))
    if (folder / "requirements.txt").is_file():
        # pip.go:543-553: `python -m pip install -r requirements.txt`, when the file exists.
        run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", "requirements.txt")
    stamp.write_text(digest)
    return options


def plugin_command(folder: Path, options: PythonOptions, args: list[str]) -> list[str]:
    """RunPlugin's argv (main.go:1528-1627): `python <folder> <args>` when the folder has a
    `__main__.py` (:1553-1560, :1618-1621), else `python -m pulumi.run.plugin <project name>
    <args>` for a buildable pyproject.toml (:1585-1606), else not runnable (:1592-1594). The
    python is the virtualenv's (sdk/python/toolchain/pip.go:178-192)."""
    python = str(options.virtualenv / "bin" / "python")
    if (folder / "__main__.py").is_file():
        return [python, str(folder.resolve()), *args]
    name = _buildable_pyproject(folder)
    if name is None:
        raise NotRunnable(
            "plugin is not runnable, it provides neither __main__.py nor a buildable pyproject.toml"
        )
    return [python, "-m", "pulumi.run.plugin", name, *args]


class Plugin:
    """The plugin process, started as the engine starts a source-based plugin, and a client."""

    def __init__(
        self,
        engine_address: str,
        consumer_dir: Path,
        env: Mapping[str, str] | None = None,
        folder: Path = PLUGIN_DIR,
    ) -> None:
        """`env`: variables the consumer's shell adds; the engine hands the plugin its own
        environment plus the stack's (pkg/resource/plugin/plugin.go:500-515)."""
        options = install_dependencies(folder)
        # The engine's only argument is its own address (pkg/resource/plugin/provider_plugin.go:
        # 288-289); logging and tracing flags come only with -v/--tracing (plugin.go:728-743).
        argv = plugin_command(folder, options, [engine_address])
        # A file, not a pipe: a pipe nobody reads could fill up and stall the plugin.
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by close()
        self.process = subprocess.Popen(  # noqa: S603 - our own plugin
            argv,
            # cmd.Dir = req.Pwd (main.go:1641): the consumer program's directory, which the
            # engine passes as the plugin context's Pwd (plugin.go:567-569).
            cwd=consumer_dir,
            env=venv_environment(options.virtualenv, {**os.environ, **(env or {})}),
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        assert self.process.stdout is not None
        # The first line of stdout is the port (pkg/resource/plugin/plugin.go:375-431).
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.wait(timeout=10)
            self.stderr.seek(0)
            message = f"the plugin printed no port: {self.stderr.read()}"
            self.close()
            raise AssertionError(message)
        self.port = int(port)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def schema(self) -> str:
        return self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema

    def construct(self, monitor_address: str, type_: str, name: str, inputs: dict[str, Any]) -> Any:
        values = struct_pb2.Struct()
        values.update(inputs)
        request = provider_pb2.ConstructRequest(
            project="mlang",
            stack="test",
            dryRun=False,
            monitorEndpoint=monitor_address,
            type=type_,
            name=name,
            inputs=values,
        )
        return self.stub.Construct(request, timeout=60)

    def close(self) -> None:
        if hasattr(self, "channel"):
            self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()
