# `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
# The newest Python found is used (Django 6 needs 3.12+; on 3.11 Django 5.2 LTS is installed).
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
	python3.11 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DJANGO_SETTINGS_MODULE := lealtad.settings

.PHONY: run test bench lint format venv clean messages

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(BIN)/lealtad migrate --no-input -v 0
	$(BIN)/lealtad collectstatic --no-input -v 0
	SMS_URL=console:// $(BIN)/lealtad demo
	@echo "Serving with one task worker (e-mails, SMS, daily expiry); more: .venv/bin/lealtad worker"
	SMS_URL=$${SMS_URL:-console://} $(BIN)/lealtad serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Translations: the .po files are the source (edit them, or Poedit/Weblate); this finds new
# strings in the code and templates, keeps what is translated, and compiles the .mo files.
messages: $(STAMP)
	cd lealtad && ../$(BIN)/lealtad makemessages -l es -l pt_BR --add-location file --no-obsolete \
		-i tests -i '*/tests/*'
	cd lealtad && ../$(BIN)/lealtad compilemessages -v 0

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
