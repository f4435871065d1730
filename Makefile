# Build and test entry points. Every test target depends on what it needs, so
# `make test-e2e` or `make test-all` alone works on a fresh clone (as root).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
PYTHON     := $(VENV)/bin/python
RESULTS    := results
PROTO_STAMP := libraries/nomadtest/plugin/protocol/__init__.py
GO         ?= go
# NOMAD_BIN=/path/to/nomad uses an installed Nomad instead of building one.
NOMAD_BIN  ?= $(CURDIR)/bin/nomad
DRIVER_BIN := bin/plugins/nomad-driver-crunjar
DRIVER_SRC := $(shell find driver -name '*.go' -not -path '*/testdata/*') driver/go.mod driver/go.sum
JAR_APPS   := $(filter-out _shared,$(notdir $(wildcard jars/apps/*)))
JARS       := $(JAR_APPS:%=jars/build/%.jar)
FIXTURES   := jars/build/broken/.stamp
ROBOT_OPTS ?=
# DEBUG messages (rendered configs and jobs) are kept in log.html but hidden until asked for.
ROBOT_COMMON := --outputdir $(RESULTS) --xunit xunit.xml --loglevel DEBUG:INFO
# After the suites: nothing the run started may be left on the host.
LEFTOVERS    := $(PYTHON) scripts/check-leftovers.py --baseline $(RESULTS)/leftovers-before.json
# 6 rather than 2 per core: the longest suites mostly wait (timeouts, heartbeats, nested runs), and at 4 a
# quarter of the CPU idled.
PABOT_PROCESSES ?= 6
# Longest suites first (scripts/pabot-ordering.py writes the file from a run's output.xml), so no
# long suite starts last while the other workers idle, and short suites in groups of one robot
# process each; a worker still running after PABOT_PROCESS_TIMEOUT seconds is killed and the sweep
# cleans up after it.
PABOT_PROCESS_TIMEOUT ?= 600
PABOT_OPTS ?= --ordering suites/pabot-ordering.txt --processtimeout $(PABOT_PROCESS_TIMEOUT)
LIBRARIES := NomadServer NomadJob LogVerifier Recovery ArtifactServer Performance DriverPlugin

export NOMAD_BIN
# pabot starts `robot` from PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: setup
setup: venv deps nomad driver jars proto ## Everything the tests need: venv, host packages, Nomad, driver, JARs, plugin stubs

.PHONY: venv
venv: $(VENV)/.installed ## Python virtualenv with requirements.txt
# Strict editable mode links every packaged file into build/__editable__.*/ as the wheel lays them out, so
# `Resource    nomadtest/resources/common.resource` resolves through sys.path as it does installed. Its links
# are made at install, so the list of packaged files is a prerequisite, rewritten only when a file comes or
# goes. The protocol stubs are one too, made before the install that lists their package.
PACKAGE_FILES := build/package-files.txt
$(shell mkdir -p build && find libraries resources templates suites jars/apps -type f -not -path '*/__pycache__/*' \
	-not -path 'libraries/nomadtest/plugin/protocol/*' -not -path '*.egg-info/*' | sort > $(PACKAGE_FILES).new \
	&& { cmp -s $(PACKAGE_FILES).new $(PACKAGE_FILES) || mv $(PACKAGE_FILES).new $(PACKAGE_FILES); })
$(VENV)/.installed: requirements.txt pyproject.toml $(PACKAGE_FILES) $(PROTO_STAMP)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --config-settings editable_mode=strict \
		-e '.[dev]'  # requirements.txt's one line: pip applies --config-settings to no -r line
	touch $@

.PHONY: deps
deps: venv ## Install missing Debian packages (crun, runc, JDK, iproute2), the JDK matrix, prepare cgroups
	bash scripts/deps.sh
	bash scripts/install-jdks.sh $(PYTHON)

.PHONY: doctor
doctor: ## Check every prerequisite, one line each, with the fix for each failure
	python3 scripts/hostcheck.py doctor --nomad "$(NOMAD_BIN)" --driver "$(DRIVER_BIN)"

.PHONY: nomad
nomad: ## Build bin/nomad from the Nomad module pinned in driver/go.mod (skipped with NOMAD_BIN=...)
ifeq ($(NOMAD_BIN),$(CURDIR)/bin/nomad)
nomad: bin/nomad
bin/nomad: driver/go.mod
	@mkdir -p bin
	@echo "building Nomad $$(awk '$$1 == "github.com/hashicorp/nomad" {print $$2}' driver/go.mod) (a few minutes the first time)"
	cd driver && $(GO) build -trimpath -o ../bin/nomad github.com/hashicorp/nomad
	@touch $@
else
nomad:
	@test -x "$(NOMAD_BIN)" || { echo "NOMAD_BIN=$(NOMAD_BIN) is not an executable"; exit 1; }
endif

.PHONY: driver
driver: $(DRIVER_BIN) ## Build the crunjar driver plugin into bin/plugins/
$(DRIVER_BIN): $(DRIVER_SRC)
	@mkdir -p $(dir $@)
	cd driver && $(GO) build -trimpath -o ../$(DRIVER_BIN) .

.PHONY: proto
proto: $(PROTO_STAMP) ## Python stubs of Nomad's plugin protocol (grpcio-tools, from the module driver/go.mod pins)
# Needs only the standard library and pip: it runs before the venv holds the project.
$(PROTO_STAMP): driver/go.mod scripts/gen-proto.py
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) scripts/gen-proto.py

.PHONY: jars
jars: $(JARS) $(FIXTURES) ## Compile the test applications and generate broken fixtures into jars/build/
# One directory per application under jars/apps/, its entry point in Main.java, with jars/apps/_shared/
# compiled into each; the kit builds the same way.
JAR_BUILDER := libraries/nomadtest/kit/testjars.py
.SECONDEXPANSION:
jars/build/%.jar: $$(wildcard jars/apps/%/*) $(wildcard jars/apps/_shared/*) $(JAR_BUILDER) | $(VENV)/.installed
	$(PYTHON) -m nomadtest.kit.testjars jar jars/apps/$* $@
$(FIXTURES): jars/build/hello.jar $(JAR_BUILDER)
	$(PYTHON) -m nomadtest.kit.testjars broken jars/build/hello.jar $(dir $@)
	@touch $@

.PHONY: test-unit
test-unit: venv deps nomad driver proto ## pytest of utest/, go test of driver/ (its harness tests need root, crun and a JDK), licences of the Go binaries we build
	@mkdir -p $(RESULTS)
	@status=0; \
	$(PYTHON) scripts/check-licences.py $(filter $(CURDIR)/bin/nomad,$(NOMAD_BIN)) $(DRIVER_BIN) || status=1; \
	$(PYTHON) -m pytest utest --junitxml=$(RESULTS)/pytest.xml -q || status=1; \
	(cd driver && $(GO) test -json ./... > ../$(RESULTS)/go-test.json) || status=1; \
	python3 scripts/summarize.py --go $(RESULTS)/go-test.json --show-failures || status=1; \
	exit $$status

# The framework's checks of itself (tests tagged area:framework): what a hung, interrupted, killed, leaking
# or misused run does and leaves, mostly in robot runs of their own. test-e2e leaves them to test-framework;
# test-e2e-parallel, and so test-all, runs them with the rest. E2E_SELECTION= gives test-e2e every suite.
FRAMEWORK_TAG := area:framework
E2E_SELECTION ?= --exclude $(FRAMEWORK_TAG)

.PHONY: test-e2e
test-e2e: setup ## Robot suites against a real Nomad, crunjar, crun and JVM, into results/ (not the framework's self-checks)
	@$(LEFTOVERS) --save
	@status=0; \
	$(VENV)/bin/robot $(ROBOT_COMMON) $(E2E_SELECTION) $(ROBOT_OPTS) suites/ || status=1; \
	$(LEFTOVERS) || status=1; \
	exit $$status

.PHONY: test-framework
test-framework: setup ## The framework's self-checks (area:framework): hung drivers, interrupted and killed runs, leaks, bad input
	@$(LEFTOVERS) --save
	@status=0; \
	$(VENV)/bin/robot $(ROBOT_COMMON) --include $(FRAMEWORK_TAG) $(ROBOT_OPTS) suites/ || status=1; \
	$(LEFTOVERS) || status=1; \
	exit $$status

# E2E_SUITES="Suites.Agents Suites.Cluster ..." runs those suites only (empty: all of them).
E2E_SUITES ?=
# The suites beyond what the kit's crunjar run (test-kit) runs against the same driver, plugin and profile:
# Suites.Sanity and nomadtest.kit.conformance.SUITES (a unit test keeps the three lists whole and apart).
E2E_BEYOND_KIT := Suites.Agents Suites.Cluster Suites.Contract Suites.Errors Suites.External Suites.Isolation \
	Suites.Performance Suites.Recovery Suites.Runtimes

.PHONY: test-e2e-parallel
test-e2e-parallel: setup ## The same suites with pabot --processes $(PABOT_PROCESSES) (E2E_SUITES: some of them)
	@$(LEFTOVERS) --save
	@status=0; \
	$(VENV)/bin/pabot --processes $(PABOT_PROCESSES) $(PABOT_OPTS) --artifacts log --artifactsinsubfolders \
		$(ROBOT_COMMON) $(foreach suite,$(E2E_SUITES),--suite $(suite)) $(ROBOT_OPTS) suites/ || status=1; \
	$(LEFTOVERS) --sweep || status=1; \
	exit $$status

# One shard of the pabot run per machine (pabot --shard i/n splits the suites in n contiguous parts, the same
# on every machine); each writes shard-i-of-n.xml and .html beside the agents' logs, so the shards' result
# dirs copied into one give make merge-shards a single log.html whose links still work.
SHARD      ?= 1/1
SHARD_NAME := shard-$(subst /,-of-,$(SHARD))

.PHONY: test-e2e-shard
test-e2e-shard: setup ## Shard SHARD=i/n of test-e2e-parallel, into results/shard-i-of-n.xml (merge: make merge-shards)
	@$(LEFTOVERS) --save
	@status=0; \
	$(VENV)/bin/pabot --shard $(SHARD) --processes $(PABOT_PROCESSES) --artifacts log --artifactsinsubfolders \
		$(ROBOT_COMMON) --output $(SHARD_NAME).xml --log $(SHARD_NAME).html --report NONE --xunit NONE \
		$(ROBOT_OPTS) suites/ || status=1; \
	$(LEFTOVERS) || status=1; \
	exit $$status

# pabot names a shard's top suite after the folders it ran ("Agents & Api & ...", whatever --name says) and
# rebot merges only outputs of one top suite: each shard is renamed Suites first. rebot's status is the number
# of failed tests; 250 and above are its own errors.
.PHONY: merge-shards
merge-shards: venv ## results/shard-*.xml into one output.xml, log.html, report.html, xunit.xml (rebot --merge); checks every test is there once
	@status=0; renamed=$$(mktemp -d); \
	for shard in $(RESULTS)/shard-*-of-*.xml; do \
		$(VENV)/bin/rebot --name Suites --outputdir $$renamed --output $$(basename $$shard) --log NONE --report NONE \
			--loglevel TRACE $$shard > /dev/null || [ $$? -lt 250 ] || status=1; \
	done; \
	$(VENV)/bin/rebot --merge --outputdir $(RESULTS) --output output.xml --xunit xunit.xml --loglevel DEBUG:INFO \
		$$renamed/shard-*-of-*.xml || status=1; \
	rm -rf $$renamed; \
	$(PYTHON) scripts/check-shards.py --merged $(RESULTS)/output.xml $(RESULTS)/shard-*-of-*.xml \
		-- $(ROBOT_OPTS) suites/ || status=1; \
	exit $$status

IMAGE ?= localhost/nomad-e2e:latest
RUNS  ?= 10
# SOAK_LOCK=/path flocks that file around each soak run (hosts shared with other test runs).
SOAK_LOCK ?=
# STRESS=1 runs stress-ng beside each soak run, keeping every core STRESS_LOAD percent busy.
STRESS ?=
STRESS_LOAD ?= 100

.PHONY: image
image: ## Debian 12 test image built by mmdebstrap from Debian's packages and PyPI, imported into podman as IMAGE
	bash scripts/deps.sh image
	IMAGE=$(IMAGE) bash scripts/image.sh

.PHONY: test-e2e-container
test-e2e-container: image setup ## make test-e2e inside the image (privileged, host cgroups, no network), into results/container/
	IMAGE=$(IMAGE) PYTHON=$(PYTHON) ROBOT_OPTS="$(ROBOT_OPTS)" bash scripts/container-run.sh

.PHONY: soak
soak: setup ## The e2e suites RUNS times, serial and pabot in turn (STRESS=1: beside a CPU burner), flakiness table and report in results/soak/
	$(PYTHON) scripts/soak.py --runs $(RUNS) --results $(RESULTS)/soak $(if $(SOAK_LOCK),--lock $(SOAK_LOCK)) \
		$(if $(STRESS),--stress --stress-load $(STRESS_LOAD))

.PHONY: test-conformance
DRIVER ?= crunjar
# The plugin binary under test: crunjar's is built here; Nomad's built-in drivers (java, raw_exec) have none.
PLUGIN ?= $(if $(filter crunjar,$(DRIVER)),$(CURDIR)/$(DRIVER_BIN))
# nomadtest.kit.conformance.SUITES (a unit test keeps the two equal), for test-external's robot run.
CONFORMANCE_SUITES := --suite Suites.Jobs --suite Suites.Output --suite Suites.Scenarios --suite Suites.Api
test-conformance: setup ## `nomad-e2e conformance` against DRIVER=<name> (PLUGIN=<binary>): the driver-agnostic suites and a capability matrix
	$(PYTHON) -m nomadtest.kit conformance --driver $(DRIVER) $(if $(PLUGIN),--plugin $(PLUGIN)) \
		--nomad-bin $(NOMAD_BIN) $(if $(NOMAD_DRIVER_PROFILE),--profile $(NOMAD_DRIVER_PROFILE)) \
		--outputdir $(RESULTS)/conformance-$(DRIVER) -- $(ROBOT_OPTS)

.PHONY: test-kit
KIT_RESULTS := $(RESULTS)/kit
# Most of a kit run is waiting on JVMs and Nomad, which two robot processes overlap even on 2 cores.
KIT_PROCESSES ?= 2
# Drivers of four conventions, none special-cased: crunjar (host path, its own options), Nomad's java
# (artifacts, chroot), java run as a command by raw_exec, and crunjar under an artifact-only profile.
# KIT_RUNS picks some of them by name.
KIT_RUNS ?= crunjar java raw_exec artifact-only
KIT_DRIVER_crunjar        := crunjar
KIT_OPTIONS_crunjar       := --plugin $(DRIVER_BIN)
KIT_DRIVER_java           := java
KIT_DRIVER_raw_exec       := raw_exec
KIT_DRIVER_artifact-only  := crunjar
KIT_OPTIONS_artifact-only := --plugin $(DRIVER_BIN) --profile suites/profiles/crunjar-artifact-only.toml
test-kit: setup ## `nomad-e2e conformance` for crunjar, java, raw_exec and an artifact-only profile (KIT_RUNS), each with its matrix, into results/kit/
	@mkdir -p $(KIT_RESULTS) && $(PYTHON) scripts/check-leftovers.py --save --baseline $(KIT_RESULTS)/leftovers-before.json
	@status=0; \
	$(foreach run,$(KIT_RUNS),$(call kit,$(run),$(KIT_DRIVER_$(run)),$(KIT_OPTIONS_$(run)))) \
	$(PYTHON) scripts/check-leftovers.py --baseline $(KIT_RESULTS)/leftovers-before.json || status=1; \
	exit $$status
# $(call kit,<results name>,<driver>,<options>): one kit run, its time and status kept.
kit = start=$$(date +%s); $(PYTHON) -m nomadtest.kit conformance --driver $(2) $(3) --nomad-bin $(NOMAD_BIN) --processes $(KIT_PROCESSES) \
	--outputdir $(KIT_RESULTS)/$(1) -- --loglevel DEBUG:INFO $(ROBOT_OPTS) > $(KIT_RESULTS)/$(1).console 2>&1 || status=1; \
	tail -n 30 $(KIT_RESULTS)/$(1).console; echo "kit run $(1): $$(( $$(date +%s) - start )) s"; \

.PHONY: test-faults
# FAULT_LEVEL=sanity|agent|all: the kit level(s) each fault is run at.
FAULT_LEVEL ?= all
test-faults: setup ## crunjar with each injected fault (driver/FAULTS.md) at FAULT_LEVEL: the tests that must catch it fail, into results/faults/
	$(PYTHON) scripts/fault-catalogue.py --level $(FAULT_LEVEL) --results $(RESULTS)/faults

.PHONY: test-external
EXTERNAL_CLUSTER := $(RESULTS)/external-cluster
EXTERNAL_SUITES  := $(CONFORMANCE_SUITES) --suite Suites.External
test-external: setup ## An ACL cluster started out of band; the driver-agnostic suites attach to it by NOMAD_ADDR/NOMAD_TOKEN
	@$(PYTHON) scripts/check-leftovers.py --save --baseline $(RESULTS)/leftovers-before-external.json
	@rm -rf $(EXTERNAL_CLUSTER)
	@status=0; \
	if $(PYTHON) scripts/external-cluster.py start $(EXTERNAL_CLUSTER); then \
		(. $(EXTERNAL_CLUSTER)/env && $(VENV)/bin/robot $(ROBOT_COMMON) --outputdir $(RESULTS)/external \
			--metadata "Cluster:external, ACLs on (scripts/external-cluster.py)" $(EXTERNAL_SUITES) $(ROBOT_OPTS) suites/) \
			|| status=1; \
		$(PYTHON) scripts/external-cluster.py check $(EXTERNAL_CLUSTER) --results $(RESULTS)/external || status=1; \
	else status=1; fi; \
	$(PYTHON) scripts/external-cluster.py stop $(EXTERNAL_CLUSTER) || status=1; \
	$(PYTHON) scripts/check-leftovers.py --baseline $(RESULTS)/leftovers-before-external.json || status=1; \
	exit $$status

.PHONY: test-install
test-install: setup ## The wheel in a fresh venv: a suite outside the checkout runs a JAR, nomad-e2e conformance runs area:happy
	bash scripts/check-install.sh

.PHONY: test-all
# The end-to-end suites run under pabot here: a third of the serial time on 2 cores (make test-e2e runs them serially).
# When the kit runs crunjar, the suites it runs are left to it, so that no test runs twice.
test-all: ## Unit tests, the install check, the end-to-end suites (pabot), the external-cluster run, the kit for four drivers, the fault catalogue; fails if any fails
	@status=0; $(MAKE) --no-print-directory test-unit || status=1; \
		$(MAKE) --no-print-directory test-install || status=1; \
		$(MAKE) --no-print-directory test-e2e-parallel \
			$(if $(filter crunjar,$(KIT_RUNS)),E2E_SUITES="$(E2E_BEYOND_KIT)") || status=1; \
		$(MAKE) --no-print-directory test-external || status=1; \
		$(MAKE) --no-print-directory test-kit || status=1; \
		$(MAKE) --no-print-directory test-faults || status=1; exit $$status

BENCH_RESULTS  := $(RESULTS)/bench
BENCH_RUNS     ?= 20
BENCH_BASELINE ?= bench/baseline.json
BENCH_NOTE     ?=

.PHONY: bench
bench: setup ## Performance suites with long sampling, then start latency of java -jar, raw_exec, Nomad's java driver and crunjar, into results/bench/
	@mkdir -p $(BENCH_RESULTS)
	@rm -f $(BENCH_RESULTS)/metrics.json
	@status=0; \
	$(VENV)/bin/robot --outputdir $(BENCH_RESULTS) --loglevel DEBUG:INFO --variablefile bench/sampling.py \
		$(ROBOT_OPTS) suites/performance || status=1; \
	$(PYTHON) bench/start_latency.py --runs $(BENCH_RUNS) --metrics $(BENCH_RESULTS)/metrics.json || status=1; \
	exit $$status

.PHONY: bench-check
bench-check: venv ## Fail when a ratio of the last `make bench` regressed beyond its tolerance in bench/baseline.json
	$(PYTHON) bench/baseline.py check --metrics $(BENCH_RESULTS)/metrics.json --baseline $(BENCH_BASELINE)

.PHONY: bench-baseline
bench-baseline: setup ## `make bench` three times, then bench/baseline.json from their medians and spread (BENCH_NOTE="...")
	for run in 1 2 3; do $(MAKE) --no-print-directory bench BENCH_RESULTS=$(RESULTS)/bench-$$run || exit 1; done
	$(PYTHON) bench/baseline.py save --metrics $(RESULTS)/bench-{1,2,3}/metrics.json --baseline $(BENCH_BASELINE) \
		--note "$(BENCH_NOTE)"

.PHONY: lint
lint: venv ## robocop, robot's dry run, ruff, gofmt, go vet, and no BUSL module in the Go build
	$(VENV)/bin/robocop check suites resources
	$(PYTHON) scripts/dryrun.py
	$(VENV)/bin/robocop format --check suites resources
	$(VENV)/bin/ruff check libraries resources suites utest scripts bench
	$(VENV)/bin/ruff format --check libraries resources suites utest scripts bench
	@test -z "$$(gofmt -l driver)" || { gofmt -l driver; exit 1; }
	cd driver && $(GO) vet ./...
	$(PYTHON) scripts/check-licences.py --module driver

.PHONY: docs
# The JSON specs are for editors (RobotCode and others load libdoc specs); HTML documentation in them renders there.
docs: venv ## libdoc HTML and JSON specs of each keyword library and resource file into results/docs/
	@mkdir -p $(RESULTS)/docs
	for source in $(LIBRARIES) $(wildcard resources/*.resource); do \
		name=$$(basename $$source .resource); \
		$(VENV)/bin/libdoc --quiet $$source $(RESULTS)/docs/$$name.html || exit 1; \
		$(VENV)/bin/libdoc --quiet --specdocformat HTML $$source $(RESULTS)/docs/$$name.json || exit 1; \
	done

.PHONY: api-snapshot
api-snapshot: venv ## Accept a deliberate change of the public keyword API: rewrite utest/public-api.json (add a CHANGELOG entry too)
	$(PYTHON) scripts/public-api.py --update

.PHONY: clean
clean: ## Remove build output and results (not the venv)
	rm -rf bin jars/build $(RESULTS)
