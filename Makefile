# Two commands for a new user: `make run` and `make test`. Both install what they need first.
.PHONY: setup run test lint bench clean

VENV := .venv/bin

setup:
	bash scripts/setup.sh

run: setup
	$(VENV)/collection up

lint: setup
	$(VENV)/ruff check src tests bench
	$(VENV)/ruff format --check src tests bench
	$(VENV)/mypy

test: export COLLECTION_SETUP_TEST = 1
test: setup lint
	$(VENV)/pytest $(PYTEST_ARGS)

bench: setup
	$(VENV)/python -m bench

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
