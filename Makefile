# Two entry points for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install sysdeps check clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	# torch first, pinned: the CPU build on this disk, never a multi-GB CUDA download.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (Java for the OWL reasoner, Chromium for browser tests;
# Graphviz to redraw the ontology diagram; Virtuoso for the shared-SPARQL-server tests).
sysdeps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v virtuoso-t >/dev/null || missing="$$missing virtuoso-opensource"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; \
	fi

run: install
	$(BIN)/hpkg ingest corpus/ --prune
	$(BIN)/hpkg serve --production --host $(HOST) --port $(PORT)

test: install sysdeps
	$(BIN)/python -m ontology.build --check
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) data .pytest_cache
