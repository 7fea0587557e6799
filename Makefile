# Developer shortcuts; the README's two quick-start commands need nothing but Python.
.PHONY: demo test lint format bench clean

demo:            ## set up, load the sample deck and study it
	sh scripts/quickstart.sh

test:            ## set up and run the whole suite (what CI runs)
	sh scripts/test.sh

lint:            ## ruff and the import-linter contracts
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/lint-imports

format:          ## apply ruff's formatting and safe fixes
	.venv/bin/ruff format src tests bench
	.venv/bin/ruff check --fix src tests bench

bench:           ## the issue-2 figures on a 100k-card collection (takes a few minutes)
	.venv/bin/python bench/collection_bench.py

clean:
	rm -rf .venv .pytest_cache .ruff_cache .hypothesis bench/out
