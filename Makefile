# esbot: emotional-support conversational agent for humanoid robots.
#   make demo    the main job: the simulated robot graph holds a text conversation (default script)
#   make test    every test (sets everything up first)
SHELL := /bin/bash
ENV := set +u; source scripts/esbot_env.sh; set -u;
PYTEST_ARGS ?=

.PHONY: setup demo chat test bench
setup:
	bash scripts/setup.sh

demo: setup
	$(ENV) python launch/offline_launcher.py sim

chat: setup
	$(ENV) python launch/offline_launcher.py sim --set mock_humanoid.script_file=stdin

test: setup
	$(ENV) python -m pytest $(PYTEST_ARGS)

bench: setup
	$(ENV) python benchmarks/bench_dialogue.py
