PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# .venv with what `pulumi up` needs (requirements.txt; CI's deploy jobs), then everything else.
DEPLOY_STAMP := $(VENV)/.deploy-installed
STAMP := $(VENV)/.installed
# uv makes the virtualenv and installs: the uv on PATH, else one bootstrapped from PyPI into
# .venv with the venv's own pip (the version requirements-dev.txt pins), with pip as the fallback
# when that fails. `make UV=` forces pip. The venv gets pip either way: the program runs pip to
# build the Lambda archives (requirements.txt pins one new enough).
UV_PIN := $(shell grep -m1 '^uv==' requirements-dev.txt)
ifeq ($(origin UV),undefined)
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV_BOOTSTRAP := 1
endif
endif
ifdef UV_BOOTSTRAP
VENV_CREATE = $(PYTHON) -m venv $(VENV) && { $(BIN)/python -m pip install --quiet \
	--disable-pip-version-check $(UV_PIN) || echo "uv could not be installed: pip installs instead"; }
INSTALL = $(SHELL) -c 'if [ -x $(BIN)/uv ]; then exec $(BIN)/uv pip install --quiet \
	--python $(BIN)/python "$$@"; else exec $(BIN)/python -m pip install --quiet "$$@"; fi' install
else ifeq ($(UV),)
VENV_CREATE = $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip
INSTALL = $(BIN)/python -m pip install --quiet
else
VENV_CREATE = $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
INSTALL = $(UV) pip install --quiet --python $(BIN)/python
endif

STACK ?= dev

.PHONY: release redrive capacity test test-arm64 lint workflows policy-venv bench bench-thumbnails plan dev dev-user docs dist clean

## test: create .venv if missing, install requirements, lint, check formatting, validate the
## GitHub workflows, run the tests, then test-arm64 when qemu-user is installed (always in CI)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory workflows
	$(BIN)/pytest -n auto --dist loadfile
	@if command -v qemu-aarch64 >/dev/null 2>&1; then $(MAKE) --no-print-directory test-arm64; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "error: test-arm64 needs qemu-user, which CI installs (.ci/run): qemu-aarch64 not found"; \
	  exit 1; \
	else echo "test-arm64 skipped: qemu-user is not installed (apt-get install qemu-user)"; fi

## test-arm64: the dev stack's Lambda archives run on an emulated aarch64 CPU (qemu-user) and
## natively for x86_64, with a python3.13 made from Debian trixie's packages (docs/archives.md)
test-arm64: $(STAMP)
	$(BIN)/python scripts/run_on_target.py

## bench: print archive sizes, build times, handler import times, plan times, the wheel's
## size, build and install time, Construct over gRPC vs direct Python, the deploy virtualenv's
## size and a fresh clone's time to its first page (figures only)
bench: $(STAMP)
	$(BIN)/python scripts/bench_packaging.py
	$(BIN)/python scripts/bench_plan.py
	$(BIN)/python scripts/bench_wheel.py
	$(BIN)/python scripts/bench_multilang.py
	$(BIN)/python scripts/bench_deploy.py

## bench-thumbnails: Pillow vs libvips on a generated corpus (photos, bombs, CPU bomb, EXIF,
## CMYK, 16-bit, palette): CPU time and peak RSS per image in fresh processes, then the cheapest
## on_upload memory where every image fits or is refused, and its cost (a few minutes)
bench-thumbnails: $(STAMP)
	$(BIN)/python scripts/bench_thumbnails.py

## docs: regenerate the generated docs (docs/configuration.md from components/config.py; schema.json
## and docs/components.md from the args classes; the wheel's figures in packaging-and-versions.md)
docs: $(STAMP)
	$(BIN)/python -m scripts.config_reference
	$(BIN)/python scripts/multilang_reference.py
	$(BIN)/python scripts/wheel_figures.py

## plan: preview STACK offline (make plan STACK=prod); ARGS="--json", "--diff prod", "--quiet"
plan: $(STAMP)
	@$(BIN)/python -m offline plan $(STACK) $(ARGS)

## dist: build the wheel and the sdist into $(DIST) with the pinned build backend, reproducibly:
## file times come from the last commit (SOURCE_DATE_EPOCH), so a commit always gives the same bytes
DIST ?= dist
dist: $(STAMP)
	rm -rf $(DIST)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 315532800) \
		$(BIN)/python -m hatchling build --target wheel --target sdist -d $(DIST)

## workflows: check .github/ against the GitHub workflow, action and Dependabot JSON schemas
## (shipped with check-jsonschema: offline)
WORKFLOWS ?= $(wildcard .github/workflows/*.yml)
ACTIONS ?= $(wildcard .github/actions/*/action.yml)
workflows: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions $(ACTIONS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

## policy-venv: the policy pack's own virtualenv (policy/PulumiPolicy.yaml), which
## `pulumi preview --policy-pack policy` runs the pack in
policy-venv: policy/venv/.installed

policy/venv/.installed: policy/requirements.txt
	test -x policy/venv/bin/python || $(PYTHON) -m venv policy/venv
	policy/venv/bin/python -m pip install --quiet -r policy/requirements.txt
	touch $@

## redrive: replay STACK's failed on_upload events from its dead-letter queue (make redrive
## STACK=prod ARGS=--dry-run to list them; ARGS="--function uploads", "--outputs FILE")
redrive: $(STAMP)
	$(BIN)/python -m ops.redrive $(STACK) $(ARGS)

## capacity: each stack's upload rate per limit, the one that binds, and the monthly cost of
## a million uploads by service (scripts/capacity.py; figures only)
capacity: $(STAMP)
	$(BIN)/python scripts/capacity.py

## dev: serve a stack on http://127.0.0.1:$(PORT): API, functions, S3 on moto (Ctrl-C stops).
## The dev stack runs without sign-in on this machine (AUTH=none; AUTH= keeps the stack's own).
PORT ?= 8000
AUTH ?= $(if $(filter dev,$(STACK)),none)
dev: $(STAMP)
	$(BIN)/python -m offline dev $(STACK) --port $(PORT) $(if $(AUTH),--config auth=$(AUTH))

## dev-user: add a user to a running `make dev`'s user pool (or sign them in again) and print an
## access token; `make dev` prints this command with ENDPOINT, POOL, CLIENT and OUTPUTS (the run's
## stack outputs, with its credentials) filled in
dev-user: $(STAMP)
	@$(BIN)/python -m offline dev-user "$$EMAIL" "$$PASSWORD" --endpoint "$$ENDPOINT" \
		--pool "$$POOL" --client "$$CLIENT" --outputs "$$OUTPUTS"

## release: tag v<version> from pyproject.toml on HEAD, after checking CHANGELOG.md describes it
## and the working tree is committed (docs/packaging-and-versions.md, "Releasing")
release:
	$(PYTHON) scripts/release.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(DEPLOY_STAMP): requirements.txt
	test -x $(BIN)/python || { $(VENV_CREATE); }
	$(INSTALL) -r requirements.txt
	touch $@

$(STAMP): $(DEPLOY_STAMP) requirements-dev.txt
	$(INSTALL) -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .build policy/venv dist
