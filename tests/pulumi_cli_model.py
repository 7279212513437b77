#!/usr/bin/env python3
"""A model of the Pulumi CLI's commands that docs/deploying.md and docs/add-an-environment.md use
(bootstrap/setup's, which they run, included), derived from its source (pulumi/pulumi at
1b5949891b, the CLI of `.pulumi.version` plus nothing that changes these paths).
`tests/test_cli_steps.py` puts it on PATH as `pulumi` and runs the pages' shell blocks: a step
the real CLI would refuse, the model refuses with the CLI's message.

Modelled without a terminal (a CI runner, a pasted block), except that MODEL_CONFIRM=yes stands
for a person who answers the confirmation of `up`, `destroy` and `stack rm` (the pages' steps are
an administrator's): every other prompt (a missing stack offered for creation, a passphrase, a
value) is refused, as the CLI does without a terminal.
  login URL                      the DIY backend: s3://bucket[/prefix] (a folder of $MODEL_CLOUD)
  stack init NAME [--secrets-provider URL]
  stack select NAME | stack output [NAME] | stack rm [NAME] [--yes] [--force] [--preserve-config]
  config set KEY [VALUE] [--stack S] [--path] [--plaintext | --secret | --type T]
  config get KEY [--stack S] | preview | up [--yes] | destroy [--yes]
  refresh, stack migrate URL [NAME] (parsed only: the drift check, the upgrade from 0.2)
  stack tag set NAME VALUE | stack tag get NAME | stack tag ls [--json]   (what .ci/ runs)
Not modelled: the engine (up and destroy record outputs from $MODEL_OUTPUTS and nothing else), the
exact YAML layout the CLI writes (the model keeps the file and edits its keys), interactive prompts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml


class CliError(Exception):
    """What the CLI prints after `error: ` and exits 255 for (pkg/cmd/pulumi/main.go)."""


# --- looksLikeSecret: pkg/cmd/pulumi/config/config.go:1430-1460 -----------------------------

KEY_PATTERN = re.compile("(?i)passwd|pass|password|pwd|secret|token")  # config.go:1432
MAX_ENTROPY_CHECK_LENGTH = 16  # config.go:1436
ENTROPY_THRESHOLD = 80.0  # config.go:1438
ENTROPY_PER_CHAR_THRESHOLD = 3.0  # config.go:1440


def bruteforce_cardinality(text: str) -> int:
    """zxcvbn-go (nbutton23/zxcvbn-go ae427f1e4c1d, the CLI's go.mod) scoring.go
    calcBruteforceCardinality: 26 if any lower-case letter, +10 any digit, +26 any upper-case,
    +33 anything else."""
    lower = any(c.islower() for c in text)
    digit = any(c.isdigit() for c in text)
    upper = any(c.isupper() for c in text)
    other = any(not (c.islower() or c.isdigit() or c.isupper()) for c in text)
    return 26 * lower + 10 * digit + 26 * upper + 33 * other


def repeat_matches(text: str) -> list[tuple[int, int, float]]:
    """zxcvbn-go matching/repeatMatch.go: runs of 3+ equal characters (case-folded), each
    (i, j, entropy) with entropy log2(cardinality(run) * len(run)) (entropyCalculator.go)."""
    found, start = [], 0
    for k in range(1, len(text) + 1):
        if k < len(text) and text[k].lower() == text[start].lower():
            continue
        if k - start > 2:
            run = text[start:k]
            found.append((start, k - 1, math.log2(bruteforce_cardinality(run) * len(run))))
        start = k
    return found


def entropy(text: str) -> float:
    """zxcvbn-go scoring.go MinimumEntropyMatchSequence: the cheapest cover of the password by
    matches, bruteforce log2(cardinality) bits per character elsewhere.

    Ported: bruteforce and repeat matches. Left out: the dictionary (its word lists are data),
    spatial, sequence, date and l33t matchers. Each can only lower the minimum, so this entropy is
    at least the CLI's, and every value the CLI flags, the model flags too: a doc step that passes
    here passes the real check.
    """
    per_char = math.log2(bruteforce_cardinality(text)) if text else 0.0
    best = [0.0] * len(text)
    matches = repeat_matches(text)
    for k in range(len(text)):
        best[k] = (best[k - 1] if k else 0.0) + per_char
        for i, j, bits in matches:
            if j == k:
                best[k] = min(best[k], (best[i - 1] if i else 0.0) + bits)
    return round(best[-1], 3) if text else 0.0


def looks_like_secret(key_name: str, value: str) -> bool:
    if not KEY_PATTERN.search(key_name):
        return False
    value = value[:MAX_ENTROPY_CHECK_LENGTH]
    bits = entropy(value)
    per_char = bits / len(value) if value else 0.0
    return bits >= ENTROPY_THRESHOLD or (
        bits >= ENTROPY_THRESHOLD / 2 and per_char >= ENTROPY_PER_CHAR_THRESHOLD
    )


# --- the workspace: project, backend, stacks ---------------------------------------------------

HOME = Path(os.environ.get("MODEL_HOME", Path.home())) / ".pulumi-model"


def project_dir() -> Path:
    """Pulumi.yaml in the working directory or a parent (sdk/go/common/workspace/paths.go:103-128,
    DetectProjectPathFrom; the real message also names the folder and suggests `pulumi new`)."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise CliError("no Pulumi.yaml project file found (searching upwards from the cwd)")


def project_name() -> str:
    return yaml.safe_load((project_dir() / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]


def backend_url() -> str:
    """PULUMI_BACKEND_URL wins over `pulumi login` (sdk/go/common/env/env.go:100, BackendURL)."""
    url = os.environ.get("PULUMI_BACKEND_URL") or _read(HOME / "login")
    if not url:
        raise CliError("not logged in: run `pulumi login s3://<bucket>` or set PULUMI_BACKEND_URL")
    return url


def backend_root() -> Path:
    """A DIY backend's objects (pkg/backend/diy/backend.go:287-296: a path opens a prefix)."""
    match = re.fullmatch(r"s3://([a-z0-9.-]{3,63})(/[\w./-]*)?", backend_url())
    if not match:
        raise CliError(f"unsupported backend URL {backend_url()!r} (the model knows s3://)")
    bucket = Path(os.environ["MODEL_CLOUD"]) / "s3" / match.group(1)
    if not bucket.is_dir():
        raise CliError(f"NoSuchBucket: the specified bucket does not exist: {match.group(1)}")
    return bucket / (match.group(2) or "/").strip("/")


def stack_path(name: str) -> Path:
    """.pulumi/stacks/<project>/<stack>.json (pkg/backend/diy/store.go:39-41, :122-125)."""
    return backend_root() / ".pulumi" / "stacks" / project_name() / f"{name}.json"


def current_stack(explicit: str | None) -> str:
    """--stack, else the stack selected in this project (pkg/cmd/pulumi/stack RequireStack; the
    message without a terminal is pkg/cmd/pulumi/stack/io.go:211)."""
    name = explicit or _read(HOME / f"current-{project_name()}")
    if not name:
        raise CliError("no stack selected; please use `pulumi stack select` to choose one")
    return name


def require_stack(explicit: str | None) -> tuple[str, dict[str, Any]]:
    """RequireStack without a terminal: OfferNew only prompts interactively, so a missing stack is
    StackNotFoundError (config.go:746-755, stack_select.go:88-107, backenderr.go:47)."""
    name = current_stack(explicit)
    path = stack_path(name)
    if not path.is_file():
        raise CliError(f"no stack named '{name}' found")
    return name, json.loads(path.read_text(encoding="utf-8"))


def confirmed() -> bool:
    """A person at a terminal answers the deletion or update prompt (ui/survey.go:341-353)."""
    return os.environ.get("MODEL_CONFIRM") == "yes"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


# --- the stack file (Pulumi.<stack>.yaml) and its secrets manager ------------------------------


def stack_file(name: str) -> Path:
    return project_dir() / f"Pulumi.{name}.yaml"


def load_stack_file(name: str) -> dict[str, Any]:
    path = stack_file(name)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def save_stack_file(name: str, document: dict[str, Any]) -> None:
    stack_file(name).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def kms_key_exists(provider: str) -> None:
    """awskms://alias/<name>?region=R: the alias must exist in the account (gocloud awskms)."""
    match = re.fullmatch(r"awskms://(alias/[\w/-]+|[0-9a-f-]{36})(\?region=[a-z0-9-]+)?", provider)
    if not match:
        raise CliError(f"unsupported secrets provider {provider!r}")
    aliases = set(os.environ.get("MODEL_KMS_ALIASES", "").split())
    if match.group(1).startswith("alias/") and match.group(1) not in aliases:
        raise CliError(f"NotFoundException: Alias {match.group(1)} is not found.")


def secrets_manager(name: str, document: dict[str, Any]) -> str:
    """The manager a stack's secrets use (pkg/cmd/pulumi/stack/secrets.go:237-289): the file's
    secretsprovider, else its encryptionsalt's passphrase, else (no fallback to the state without
    PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER) the DIY default: a passphrase
    (pkg/backend/diy/stack.go:124-126)."""
    provider = document.get("secretsprovider")
    if provider and provider not in ("default", "passphrase"):
        kms_key_exists(provider)
        if not document.get("encryptedkey"):
            raise CliError(f"Pulumi.{name}.yaml names {provider} but has no encryptedkey")
        return provider
    if os.environ.get("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "").lower() in ("1", "true"):
        state = json.loads(stack_path(name).read_text(encoding="utf-8"))
        if state.get("secretsprovider"):
            return state["secretsprovider"]
    return passphrase(name, document)


def passphrase(name: str, document: dict[str, Any]) -> str:
    """pkg/secrets/passphrase/manager.go: without a terminal the passphrase comes from the
    environment; a new one writes encryptionsalt into the stack file. readPassphrase takes
    PULUMI_CONFIG_PASSPHRASE when it is set at all (`os.LookupEnv`: an empty passphrase is one),
    PULUMI_CONFIG_PASSPHRASE_FILE when it is set and not empty."""
    if not (
        "PULUMI_CONFIG_PASSPHRASE" in os.environ or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        raise CliError(
            "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
            "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
        )
    if not document.get("encryptionsalt"):
        document["encryptionsalt"] = "v1:" + base64.b64encode(os.urandom(8)).decode()
        save_stack_file(name, document)
    return "passphrase"


# --- commands ----------------------------------------------------------------------------------


def login(url: str) -> None:
    os.environ["PULUMI_BACKEND_URL"] = url
    backend_root()
    HOME.mkdir(parents=True, exist_ok=True)
    (HOME / "login").write_text(url, encoding="utf-8")
    print(f"Logged in to {url}")


def stack_init(name: str, secrets_provider: str | None) -> None:
    """pkg/cmd/pulumi/stack/secrets.go:99-131: an existing stack file is read and kept (a stack
    the backend has not got loads the file, secrets.go:143-149); a cloud provider writes
    secretsprovider and a data key into it, a new one unless the file has a key of that same
    provider, and drops an encryptionsalt (pkg/secrets/cloud/manager.go:188-226); the default
    writes a passphrase's salt."""
    path = stack_path(name)
    if path.is_file():
        raise CliError(f"stack '{name}' already exists")  # backenderr.go:85
    document = load_stack_file(name)
    if secrets_provider in (None, "", "default", "passphrase"):
        passphrase(name, document)
        provider = "passphrase"
    else:
        kms_key_exists(secrets_provider)
        seed = hashlib.sha256(f"{secrets_provider}/{name}".encode()).digest()
        same = document.get("secretsprovider") == secrets_provider and document.get("encryptedkey")
        document = {
            "secretsprovider": secrets_provider,
            "encryptedkey": document["encryptedkey"] if same else base64.b64encode(seed).decode(),
            **{
                k: v
                for k, v in document.items()
                if k not in ("secretsprovider", "encryptedkey", "encryptionsalt")
            },
        }
        save_stack_file(name, document)
        provider = secrets_provider
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"secretsprovider": provider, "resources": 0, "outputs": {}}))
    select(name, quiet=True)
    print(f"Created stack '{name}'")


def select(name: str, quiet: bool = False) -> None:
    require_stack(name)
    HOME.mkdir(parents=True, exist_ok=True)
    (HOME / f"current-{project_name()}").write_text(name, encoding="utf-8")
    if not quiet:
        print(f"Selected stack '{name}'")


def config_key(key: str, path: bool) -> tuple[str, list[str | int]]:
    """ParseConfigKey (config.go:807): a key without a namespace is the project's; with --path,
    `name[0].field` is a path inside the value (sdk/go/common/resource/config/map.go:330)."""
    root = re.match(r"[^.\[]+(?::[^.\[]+)?", key).group(0) if path else key
    rest = key[len(root) :]
    steps: list[str | int] = [
        int(index) if index else field
        for index, field in re.findall(r"\[(\d+)\]|\.?([^.\[\]]+)", rest)
    ]
    namespaced = root if ":" in root else f"{project_name()}:{root}"
    return namespaced, steps


def set_path(container: Any, steps: list[str | int], value: Any, prefix: str) -> Any:
    """object.go:312-345: an index past the end by one appends; further is out of range."""
    if not steps:
        return value
    step = steps[0]
    if isinstance(step, int):
        items = container if isinstance(container, list) else []
        if step > len(items):
            raise CliError(f"could not set config: {prefix}[{step}]: array index out of range")
        if step == len(items):
            items.append(None)
        items[step] = set_path(items[step], steps[1:], value, f"{prefix}[{step}]")
        return items
    mapping = container if isinstance(container, dict) else {}
    mapping[step] = set_path(mapping.get(step), steps[1:], value, f"{prefix}.{step}")
    return mapping


def path_value(text: str) -> Any:
    """`config set --path`: "true"/"false" become booleans, integers numbers (config.go:726-728)."""
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def config_set(args: dict[str, Any]) -> None:
    name, _ = require_stack(args["stack"])
    if sum(bool(args[f]) for f in ("secret", "plaintext", "type")) > 1:
        raise CliError(
            "if any flags in the group [secret plaintext type] are set none of the others can be"
        )  # config.go:789, cobra MarkFlagsMutuallyExclusive
    if args["value"] is None:
        raise CliError("config value must be specified in non-interactive mode")  # config.go:827
    key, steps = config_key(args["key"], args["path"])
    document = load_stack_file(name)
    value: Any = args["value"]
    if args["secret"]:
        secrets_manager(name, document)
        value = {"secure": "v1:" + base64.b64encode(value.encode()).decode()}
    elif not args["plaintext"] and looks_like_secret(key.split(":")[-1], value):
        raise CliError(
            f"config value for '{key}' looks like a secret; rerun with --secret to encrypt it, "
            "or --plaintext if you meant to store in plaintext"
        )  # config.go:880-884
    config = document.setdefault("config", {}) or {}
    document["config"] = config
    if steps:
        value = path_value(value) if isinstance(value, str) else value
        config[key] = set_path(config.get(key), steps, value, key)
    else:
        config[key] = value
    save_stack_file(name, document)


def config_get(key: str, stack: str | None) -> None:
    name, _ = require_stack(stack)
    namespaced, _steps = config_key(key, False)
    config = load_stack_file(name).get("config") or {}
    if namespaced not in config:
        raise CliError(f"configuration key '{key}' not found for stack '{name}'")
    value = config[namespaced]
    print(value if isinstance(value, str) else json.dumps(value))


def operation(command: str, stack: str | None, yes: bool) -> None:
    """preview/up/destroy: the stack must exist and its secrets manager open without a terminal;
    up and destroy need --yes there (pkg/cmd/pulumi/operations/up.go, destroy.go)."""
    name, state = require_stack(stack)
    secrets_manager(name, load_stack_file(name))
    if command != "preview" and not (yes or confirmed()):
        raise CliError(
            "--yes or --skip-preview must be passed in to proceed when running in "
            "non-interactive mode"
        )
    if command == "up":
        outputs = json.loads(os.environ.get("MODEL_OUTPUTS", "{}"))
        state.update(resources=1, outputs=outputs.get(f"{project_name()}/{name}", {}))
    elif command == "destroy":
        state.update(resources=0, outputs={})
    stack_path(name).write_text(json.dumps(state), encoding="utf-8")
    print(f"{command} of {name}: done")


def stack_output(output: str | None, stack: str | None) -> None:
    _name, state = require_stack(stack)
    if output is None:
        for key, value in sorted(state["outputs"].items()):
            print(f"    {key}  {json.dumps(value)}")
    elif output in state["outputs"]:
        value = state["outputs"][output]
        print(value if isinstance(value, str) else json.dumps(value))
    else:
        raise CliError(f"current stack does not have output property '{output}'")


def stack_rm(args: dict[str, Any]) -> None:
    """pkg/cmd/pulumi/stack/stack_remove.go:72-118."""
    name, state = require_stack(args["name"] or args["stack"])
    if not (args["yes"] or confirmed()):  # ui/survey.go:344-348 (ErrNonInteractiveRequiresYes)
        raise CliError("--yes must be passed in to proceed when running in non-interactive mode")
    if state["resources"] and not args["force"]:
        raise CliError(f"'{name}' still has resources; removal rejected")
    stack_path(name).unlink()
    if not args["preserve_config"]:
        stack_file(name).unlink(missing_ok=True)
    print(f"Stack '{name}' has been removed!")


def stack_tag(verb: str, positional: list[str], stack: str | None, as_json: bool) -> None:
    """pkg/cmd/pulumi/stack/stack_tag.go: tags kept by the backend beside the stack's state
    (pkg/backend/diy/stack_tags.go:87-107); `get` of a missing tag is an error (stack_tag.go:98),
    `ls --json` prints the map (:118-120)."""
    name, state = require_stack(stack)
    tags = state.setdefault("tags", {})
    if verb == "set":
        tags[positional[0]] = positional[1]
        stack_path(name).write_text(json.dumps(state), encoding="utf-8")
    elif verb == "get":
        if positional[0] not in tags:
            raise CliError(f"stack tag '{positional[0]}' not found for stack '{name}'")
        print(tags[positional[0]])
    elif as_json:
        print(json.dumps(tags))
    else:
        for key in sorted(tags):
            print(f"{key}  {tags[key]}")


# --- the command line ----------------------------------------------------------------------

FLAGS = {
    # command: {flag: takes a value}
    "login": {},
    "stack init": {"--secrets-provider": True, "--stack": True},
    "stack select": {"--stack": True, "--non-interactive": False},
    "stack output": {"--stack": True, "--json": False, "--show-secrets": False},
    "stack rm": {"--stack": True, "--yes": False, "--force": False, "--preserve-config": False},
    "stack tag set": {"--stack": True},
    "stack tag get": {"--stack": True},
    "stack tag ls": {"--stack": True, "--json": False},
    "config set": {
        "--stack": True,
        "--path": False,
        "--plaintext": False,
        "--secret": False,
        "--type": True,
    },
    "config get": {"--stack": True, "--path": False, "--json": False},
    "preview": {"--stack": True, "--diff": False, "--refresh": False, "--policy-pack": True},
    "up": {"--stack": True, "--yes": False, "--refresh": False, "--policy-pack": True},
    "destroy": {"--stack": True, "--yes": False},
    "refresh": {
        "--stack": True,
        "--yes": False,
        "--preview-only": False,
        "--expect-no-changes": False,
    },
    # pkg/cmd/pulumi/stack/stack_migrate.go:60 (migrate <url> [stack-name]), flags :102-116.
    "stack migrate": {
        "--target": True,
        "--secrets-provider": True,
        "--yes": False,
        "--force": False,
    },
}
ALIASES = {"-s": "--stack", "-y": "--yes"}


def parse(argv: list[str]) -> tuple[str, list[str], dict[str, Any]]:
    """(command, positional arguments, flags), refusing what cobra refuses: an unknown command or
    flag (`--non-interactive` is global)."""
    words = [a for a in argv if a != "--non-interactive"]
    length = (
        3 if words[:2] == ["stack", "tag"] else 2 if words[:1] in (["stack"], ["config"]) else 1
    )
    command = " ".join(words[:length])
    if command not in FLAGS:
        raise CliError(f'unknown command "{command}" for "pulumi"')
    rest = words[len(command.split()) :]
    positional, flags = [], {}
    while rest:
        word = rest.pop(0)
        if word == "--":
            positional += rest
            break
        if not word.startswith("-"):
            positional.append(word)
            continue
        flag, _, inline = word.partition("=")
        flag = ALIASES.get(flag, flag)
        if flag not in FLAGS[command]:
            raise CliError(f"unknown flag: {flag}")
        if FLAGS[command][flag]:
            if not inline and not rest:
                raise CliError(f"flag needs an argument: {flag}")
            flags[flag] = inline or rest.pop(0)
        else:
            flags[flag] = True
    return command, positional, flags


def run(argv: list[str]) -> None:
    command, positional, flags = parse(argv)
    stack = flags.get("--stack")
    if command == "login":
        login(positional[0])
    elif command == "stack init":
        stack_init(positional[0] if positional else stack, flags.get("--secrets-provider"))
    elif command == "stack select":
        select(positional[0] if positional else stack)
    elif command == "stack output":
        stack_output(positional[0] if positional else None, stack)
    elif command == "stack rm":
        stack_rm(
            {
                "name": positional[0] if positional else None,
                "stack": stack,
                "yes": flags.get("--yes", False),
                "force": flags.get("--force", False),
                "preserve_config": flags.get("--preserve-config", False),
            }
        )
    elif command == "config set":
        config_set(
            {
                "key": positional[0],
                "value": positional[1] if len(positional) > 1 else None,
                "stack": stack,
                "path": flags.get("--path", False),
                "plaintext": flags.get("--plaintext", False),
                "secret": flags.get("--secret", False),
                "type": flags.get("--type"),
            }
        )
    elif command.startswith("stack tag"):
        stack_tag(command.split()[-1], positional, stack, flags.get("--json", False))
    elif command == "config get":
        config_get(positional[0], stack)
    elif command in ("refresh", "stack migrate"):
        raise CliError(f"the model parses {command} but does not run it")
    else:
        operation(command, stack, flags.get("--yes", False))


def main() -> int:
    try:
        run(sys.argv[1:])
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 255
    return 0


if __name__ == "__main__":
    sys.exit(main())
