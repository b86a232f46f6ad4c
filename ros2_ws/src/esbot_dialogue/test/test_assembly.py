"""build_engine: the dialogue node's engine from its configuration, on the real default model, and
what the node asks of the engine (adapters, forgetting, status, retention, a restart)."""

import json
import os
import logging
import shutil
import time
from pathlib import Path

import pytest
import yaml

from esbot_dialogue.adapters import AdapterError
from esbot_dialogue.assembly import EngineConfig, build_engine
from esbot_dialogue.llm import GenerationSettings
from esbot_dialogue.memory.conversation_store import ConversationStore
from esbot_dialogue.safety.alert_log import read_alert_log
from esbot_dialogue.turn import Turn
from model_fixtures import MODEL_ID

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # its config/ is what the package installs in share/
PARAMS_FILE = Path(__file__).resolve().parents[4] / "config" / "esbot_params.yaml"
GREEDY = GenerationSettings(do_sample=False, max_new_tokens=16)


class KeptRecords(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


@pytest.fixture
def log():
    """(a logger for build_engine, the (level, message) lines it got)."""
    logger = logging.getLogger(f"test_assembly.{time.monotonic_ns()}")
    logger.setLevel(logging.INFO)
    logger.addHandler(kept := KeptRecords())
    return logger, kept.lines


def config_in(folder: Path, **changes) -> EngineConfig:
    """The node's defaults (llama.cpp on this CPU), greedy, with its files in folder and the rules
    only (the learned tier has its own tests)."""
    return EngineConfig(memory_store_path=str(folder / "conversations.sqlite3"),
                        safety_alert_log=str(folder / "alerts.jsonl"), safety_learned_tier=False,
                        generation=GREEDY, **changes)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("engine")


@pytest.fixture(scope="module")
def built(folder, model_dir):
    """(engine, the alerts it raised, its log lines), shared by the tests below in their order."""
    alerts = []
    logger = logging.getLogger("test_assembly.built")
    logger.setLevel(logging.INFO)
    logger.addHandler(kept := KeptRecords())
    engine = build_engine(config_in(folder), PACKAGE_DIR, on_alert=alerts.append, log=logger)
    yield engine, alerts, kept.lines
    engine.close()


def test_the_config_is_the_dialogue_nodes_parameters():
    params = yaml.safe_load(PARAMS_FILE.read_text())["dialogue"]["ros__parameters"]
    config = EngineConfig.from_parameters(params)
    assert config.parameters() == params
    assert set(EngineConfig().parameters()) == set(params)
    assert config.generation.seed is None  # -1 in the parameters: not fixed
    assert EngineConfig.from_parameters({"seed": 7, "temperature": 0.2}).generation == GenerationSettings(
        seed=7, temperature=0.2)
    with pytest.raises(ValueError, match="semantic_tier"):
        EngineConfig.from_parameters({"semantic_tier": True})


def test_the_engine_is_built_as_the_node_runs_it(built, folder):
    engine, alerts, lines = built
    infos = [message for level, message in lines if level == "INFO"]
    threads = min(os.cpu_count(), 8)
    assert infos[0].startswith(f"model {MODEL_ID} on llama_cpp, cpu ({threads} threads) "
                               "(SmolLM2-135M-Instruct.Q8_0.gguf) loaded in ")
    assert infos[1] == (f"safety: rules only, hotlines {PACKAGE_DIR / 'config' / 'safety_hotlines.yaml'}, "
                        f"alert log {folder / 'alerts.jsonl'}")
    assert infos[2].startswith(f"memory: store {folder / 'conversations.sqlite3'}, session ")
    assert infos[2].endswith("(new), past turns as raw")
    assert engine.settings == GREEDY and engine.safety is not None and engine.memory.warm_model is engine.llm

    chunks = []
    outcome = engine.answer("u1", "I feel lonely since I moved to a new city.", chunks.append)
    assert chunks[-1].is_final and outcome.stats.new_tokens > 0 and outcome.prompt_build_s > 0
    assert outcome.safety is not None  # assessed before the LLM saw it
    status = engine.status()
    assert (status.level, status.message) == ("ok", "ready")
    assert status.values | {"memory_session": "", "memory_background_paused": "",
                            "memory_last_warmed_tokens": ""} == {
        "backend": "llama_cpp", "model": MODEL_ID, "device": f"cpu ({threads} threads)",
        "dtype": "SmolLM2-135M-Instruct.Q8_0.gguf", "adapter": "",
        "safety_careful_mode": "False", "memory_store": str(folder / "conversations.sqlite3"),
        "memory_session": "", "memory_user": "", "memory_mode": "raw", "history_turns": "2",
        "memory_summary_covers_turns": "0", "memory_background_paused": "", "memory_last_warmed_tokens": ""}
    assert status.values["memory_session"] == engine.history.session_id


def test_alerts_reach_on_alert_once_in_the_durable_log(built, folder):
    engine, alerts, lines = built
    outcome = engine.answer("u2", "I am going to kill myself tonight, I have the pills here.", lambda chunk: None)
    assert outcome.stats is None  # the crisis response, not the LLM
    assert [alert.utterance_id for alert in alerts] == ["u2"]
    assert read_alert_log(folder / "alerts.jsonl") == alerts  # durable before on_alert was called
    assert engine.status().values["safety_careful_mode"] == "True"
    engine.reset_safety_mode("operator", "checked on the person")
    assert engine.status().values["safety_careful_mode"] == "False"


def test_in_careful_mode_the_next_prompt_is_still_read_ahead(built):
    """Careful mode adds its instruction to the system prompt of every turn; the memory reads the
    next prompt ahead with it, so an ordinary turn after a crisis reads only its new tokens."""
    engine, alerts, lines = built
    engine.answer("c1", "I am going to end my life tonight, I have the rope ready.", lambda chunk: None)
    assert engine.safety.careful_mode
    assert engine.memory.wait_for_background(60)
    outcome = engine.answer("c2", "I talked to my sister a little today.", lambda chunk: None)
    assert outcome.safety.extra_instruction  # careful mode's instruction is in this prompt
    new_tokens = outcome.stats.prompt_tokens - outcome.stats.reused_prompt_tokens
    assert new_tokens <= 40, (outcome.stats.prompt_tokens, outcome.stats.reused_prompt_tokens)
    engine.reset_safety_mode("operator", "checked on the person")


def test_an_adapter_brings_its_history_representation(built, adapters, tmp_path):
    engine, alerts, lines = built
    trained = tmp_path / "trained"
    shutil.copytree(adapters / "matching", trained)
    (trained / "esbot_manifest.json").write_text(json.dumps({"context_representation": "keypos"}))
    assert engine.set_adapter(str(trained)) == f"adapter {trained} loaded; past turns in keypos representation"
    assert engine.adapter_path == str(trained) and engine.memory.mode == "keypos"
    with pytest.raises(AdapterError, match="does not fit"):
        engine.set_adapter(str(adapters / "tiny"))
    assert engine.adapter_path == str(trained) and engine.status().values["adapter"] == str(trained)
    assert engine.set_adapter("") == "adapter unloaded: serving the base model; past turns in raw representation"
    assert engine.adapter_path is None and engine.memory.mode == "raw"


def test_forgetting_the_conversation_in_progress(built):
    engine, alerts, lines = built
    current = engine.history.session_id
    assert engine.forgets_current_conversation() and engine.forgets_current_conversation(current)
    assert not engine.forgets_current_conversation("another-session")
    assert not engine.forgets_current_conversation(user_name="sam")  # this conversation is anonymous
    turns = len(engine.history)
    forgotten = engine.forget()
    assert (forgotten.session_id, forgotten.sessions, forgotten.turns, forgotten.current) == (current, 1, turns, True)
    assert len(engine.history) == 0
    with pytest.raises(ValueError):
        engine.forget("a-session", "sam")


def test_a_restart_purges_expired_turns_and_continues_the_users_conversation(tmp_path, model_dir, log):
    logger, lines = log
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    session_id, _ = store.resolve_session("", "sam")
    now = time.time()
    store.append_turn(session_id, Turn("user", "Long ago I lost my dog.", now - 40 * 86400, "old"), "sam")
    store.append_turn(session_id, Turn("user", "I start my new job tomorrow.", now - 3600, "recent"), "sam")
    store.close()
    engine = build_engine(config_in(tmp_path, user_name="sam", retention_days=30, warm_next_prompt=False),
                          PACKAGE_DIR, log=logger)
    try:
        assert ("INFO", "memory: 1 turns older than 30 days deleted (retention_days)") in lines
        assert any(message.endswith(f"session {session_id} (continued, 1 turns stored, user sam), past turns as raw")
                   for _, message in lines)
        assert [turn.turn_id for turn in engine.history.turns()] == ["recent"]
        engine.retention_days = 0  # kept until forgotten: the hourly purge leaves everything
        engine.purge_expired()
        assert len(engine.history) == 1
    finally:
        engine.close()
