"""Synthesize the simulated user's recordings (ros2_ws/src/esbot_sim/config/user_utterances.yaml)
into <models folder>/user_audio/<name>.wav with espeak-ng, a voice other than the robot's.

    python scripts/prepare_user_audio.py [--force]

Skips the work when the list and the voice are unchanged (a stamp file records their hash).
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
UTTERANCES = REPO / "ros2_ws" / "src" / "esbot_sim" / "config" / "user_utterances.yaml"
sys.path.insert(0, str(REPO / "ros2_ws" / "src" / "esbot_common"))
from esbot_common.model_store import default_models_dir  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="synthesize even if nothing changed")
    args = parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng is missing: install it (sudo apt-get install espeak-ng) for the spoken demo and tests",
              file=sys.stderr)
        return 1
    config = yaml.safe_load(UTTERANCES.read_text(encoding="utf-8"))
    out = default_models_dir() / "user_audio"
    stamp = out / ".stamp"
    version = subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout.strip()
    inputs = hashlib.sha256((json.dumps(config, sort_keys=True) + version).encode()).hexdigest()
    if not args.force and stamp.is_file() and stamp.read_text() == inputs:
        print(f"user recordings in {out} are up to date: skipped")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in config["utterances"].items():
        subprocess.run([espeak, "-v", config["voice"], "-s", str(config["words_per_minute"]),
                        "-w", str(out / f"{name}.wav"), text], check=True)
    stamp.write_text(inputs)
    print(f"{len(config['utterances'])} user recordings synthesized into {out} ({config['voice']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
