# esbot: emotional-support conversational agent for humanoid robots.
#   make demo    the main job: the simulated robot holds a spoken conversation (LIVE=1: local mic and speakers)
#   make test    every test (sets everything up first)
SHELL := /bin/bash
ENV := set +u; source scripts/esbot_env.sh; set -u;
PYTEST_ARGS ?=

.PHONY: setup demo chat test bench bench-voice bench-engines
setup:
	bash scripts/setup.sh

SPOKEN_DEMO := ros2_ws/src/esbot_sim/scripts/demo_spoken.txt
demo: setup
ifeq ($(LIVE),1)
	$(ENV) python launch/offline_launcher.py robot --set asr.audio_source=sounddevice --set tts.output=sounddevice
else
	$(ENV) python launch/offline_launcher.py spoken_sim --set mock_humanoid.script_file=$(SPOKEN_DEMO)
endif

chat: setup
	$(ENV) python launch/offline_launcher.py sim --set mock_humanoid.script_file=stdin

test: setup
	$(ENV) python -m pytest $(PYTEST_ARGS)

bench: setup
	$(ENV) python benchmarks/bench_dialogue.py

bench-voice: setup
	$(ENV) python benchmarks/bench_voice.py

bench-engines: setup
	$(ENV) python benchmarks/bench_engines.py
