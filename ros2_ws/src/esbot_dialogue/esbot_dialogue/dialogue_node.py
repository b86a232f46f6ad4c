"""The dialogue node: ROS wiring around DialogueEngine (dialogue_engine.py).

Subscribes:  user_transcript (esbot_msgs/Transcript, final ones are answered),
             barge_in (esbot_msgs/BargeIn: stop generating the interrupted reply),
             spoken_reply (esbot_msgs/SpokenReply: the history keeps what the user actually heard),
             robot_speaking (esbot_msgs/SpeakingState: reported as the SPEAKING state),
             listening_state (esbot_msgs/ListeningState: no background memory work while the user speaks)
Publishes:   reply (esbot_msgs/ReplyChunk, sentence by sentence, then one final chunk),
             conversation_state (esbot_msgs/ConversationState, latched),
             safety_alert (esbot_msgs/SafetyAlert, kept for late joiners),
             /diagnostics (diagnostic_msgs/DiagnosticArray)
Services:    reset_conversation, load_adapter, get_history, reset_safety_mode, forget_memory (esbot_msgs/srv)
The engine is built from the parameters by assembly.build_engine (the benchmarks build theirs the
same way); transcripts are answered by turn_worker.TurnWorker: queued, one at a time, in order,
each at most once. Every one is assessed by the safety policy before the LLM sees it, and every
reply sentence before it is published (esbot_dialogue/safety). Every turn is stored in the local
conversation store before it is answered (esbot_dialogue/memory), so a restarted node continues
the conversation. This node maps parameters, messages and services onto those, and publishes.
"""

import uuid
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_interfaces import diagnostic_array, duration_msg, spin_node, time_msg
from esbot_dialogue.adapters import AdapterError
from esbot_dialogue.assembly import GENERATION_PARAMETERS, EngineConfig, build_engine, generation_settings
from esbot_dialogue.dialogue_engine import ReplyChunk
from esbot_dialogue.llm import ModelLoadError
from esbot_dialogue.memory.conversation_store import StoreError
from esbot_dialogue.safety.alert_log import AlertLogError, AlertRecord
from esbot_dialogue.turn_worker import TurnWorker
from esbot_msgs.msg import (BargeIn, ConversationState, DialogueTurn, ListeningState, SafetyAlert, SpeakingState,
                            SpokenReply, Transcript)
from esbot_msgs.msg import ReplyChunk as ReplyChunkMsg
from esbot_msgs.srv import ForgetMemory, GetHistory, LoadAdapter, ResetConversation, ResetSafetyMode

# name: (description, extra descriptor fields); read_only ones need a restart. The defaults are
# EngineConfig's (assembly.py), the one place they are set.
DESCRIPTIONS = {
    "backend": ("Which engine runs the LLM: auto (transformers where torch sees a CUDA GPU, else llama_cpp), "
                "llama_cpp (the model's GGUF on the CPU), transformers (PyTorch, GPU or CPU) or openai (an "
                "OpenAI-compatible server: vLLM, llama.cpp's server).", {"read_only": True}),
    "model": ("Hugging Face causal LM id or local path; ids prepared in the models folder load offline. Its "
              "tokenizer builds the prompts whatever the backend.", {"read_only": True}),
    "models_dir": ('Models folder; "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models.', {"read_only": True}),
    "device": ("transformers: auto (cuda if available, else cpu), cpu, cuda or cuda:N.", {"read_only": True}),
    "dtype": ("transformers: auto (bf16/fp16 on CUDA, fp32 on CPU), float32, float16 or bfloat16.",
              {"read_only": True}),
    "gguf_file": ('llama_cpp: the GGUF file to run; "" = the one in the model\'s prepared folder (the default '
                  "model's Q4_1).", {"read_only": True}),
    "llm_threads": ("llama_cpp: CPU threads; 0 = all cores (at most 8).",
                    {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=256)]}),
    "openai_url": ("openai: the server's base URL, e.g. http://gpu-box:8000/v1; its API key comes from "
                   "$ESBOT_OPENAI_API_KEY.", {"read_only": True}),
    "openai_model": ('openai: the server\'s name for the base model; "" = the first it serves. Adapters are '
                     "picked by their served name (load_adapter with that name).", {"read_only": True}),
    "openai_timeout_s": ("openai: a silence this long within a reply counts as the server gone.",
                         {"read_only": True,
                          "floating_point_range": [FloatingPointRange(from_value=0.5, to_value=600.0)]}),
    "onboard_backend": ("openai: what finishes the turn while the server does not answer: llama_cpp, "
                        "transformers or none (loaded at the first failure).", {"read_only": True}),
    "llm_nice": ("CPU priority of the dialogue process below the speech nodes (Linux nice, 0-19): the LLM's "
                 "threads must not starve the voice (barge-in) or the microphone on a few cores; 0 = unchanged.",
                 {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=19)]}),
    "failover_retry_s": ("openai: while degraded, how often the robot asks whether the server is back.",
                         {"read_only": True,
                          "floating_point_range": [FloatingPointRange(from_value=1.0, to_value=3600.0)]}),
    "adapter_path": ('LoRA adapter folder (PEFT format) loaded at start; "" = base model. '
                     "Use the load_adapter service to change it at run time.", {"read_only": True}),
    "system_prompt": ('"" = the built-in emotional-support prompt.', {"read_only": True}),
    "history_representation": ("How past turns are put in the context: raw, keypos, nostopwords, summary "
                               "(older turns folded into a running LLM summary) or hybrid (summary + KeyPOS "
                               'turns + the last exchange as said); "" = the one the loaded adapter '
                               "was trained with (its esbot_manifest.json), else raw.",
                               {"read_only": True}),
    "memory_store_path": ('SQLite conversation store (local only); "" = '
                          "~/.local/share/esbot/memory/conversations.sqlite3.", {"read_only": True}),
    "session_id": ('Conversation session to continue or start; "" = the latest session of user_name (an '
                   "anonymous one only if active within new_session_after_hours), else a new one.",
                   {"read_only": True}),
    "user_name": ('Ties the session to a person, whose conversation then continues on later days; "" = '
                  "anonymous.", {"read_only": True}),
    "new_session_after_hours": ("An anonymous conversation idle this long is not continued at start "
                                "(someone else may be talking to the robot); 0 = always continue.",
                                {"read_only": True,
                                 "floating_point_range": [FloatingPointRange(from_value=0.0, to_value=8760.0)]}),
    "retention_days": ("Stored turns older than this are deleted (at start and hourly); 0 = kept until "
                       "forgotten.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=36500)]}),
    "summary_max_tokens": ("Longest running summary (summary and hybrid representations), in tokens.",
                           {"read_only": True, "integer_range": [IntegerRange(from_value=16, to_value=1024)]}),
    "memory_recent_tokens": ("Summary modes: older turns are folded into the summary once the turns after it "
                             "take more than this many tokens; 0 = what the budget leaves beside the system "
                             "prompt, the summary and a 64-token utterance.",
                             {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=131072)]}),
    "warm_next_prompt": ("After each turn, read the next prompt's beginning (system prompt, summary, past "
                         "turns) into the model's KV cache in the background, so the next answer reads only "
                         "the new utterance; paused while the user speaks.", {"read_only": True}),
    "context_window": ("Tokens for system prompt + history + utterance + reply.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=256, to_value=131072)]}),
    "max_new_tokens": ("Longest reply, in tokens.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=1, to_value=4096)]}),
    "temperature": ("Sampling temperature.",
                    {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=5.0)]}),
    "top_p": ("Nucleus sampling probability mass.",
              {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=1.0)]}),
    "top_k": ("Sample among the k most likely tokens.",
              {"integer_range": [IntegerRange(from_value=0, to_value=100000)]}),
    "do_sample": ("Sample (true) or decode greedily (false).", {}),
    "repetition_penalty": ("Penalty for repeating tokens (1.0 = none).",
                           {"floating_point_range": [FloatingPointRange(from_value=1.0, to_value=3.0)]}),
    "seed": ("Sampling seed; -1 = not fixed.", {"integer_range": [IntegerRange(from_value=-1, to_value=2**31 - 1)]}),
    "safety_locale": ("Country whose crisis hotlines the robot gives (US, UK, CA, AU, IN; others get the "
                      "international fallback, with a warning).", {"read_only": True}),
    "safety_hotlines_file": ('Hotline table (YAML); "" = the one installed with esbot_dialogue '
                             "(config/safety_hotlines.yaml). Operators must check its numbers.",
                             {"read_only": True}),
    "safety_alert_log": ('Durable JSON-lines log of safety alerts, written before anything else happens; '
                         '"" = ~/.local/share/esbot/safety/alerts.jsonl.', {"read_only": True}),
    "safety_learned_tier": ("Add the learned tier (fine-tuned MiniLM classifier, esbot_dialogue/safety/"
                            "learned.py) to the rules, for what users say and what the robot replies; "
                            "false = rules only.", {"read_only": True}),
    "safety_risk_model": ('Folder of the learned tier\'s model (esbot_training.train_risk export); "" = the '
                          "one packaged with esbot_dialogue (safety/risk_model).", {"read_only": True}),
}
DEFAULTS = EngineConfig().parameters()
PARAMETERS = {name: (DEFAULTS[name], description, extra) for name, (description, extra) in DESCRIPTIONS.items()}
DIAGNOSTIC_LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR}


class DialogueNode(Node):
    def __init__(self):
        super().__init__("dialogue")
        for name, (default, description, extra) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, **extra))
        self.state_pub = self.create_publisher(ConversationState, interfaces.CONVERSATION_STATE, interfaces.STATE_QOS)
        self.reply_pub = self.create_publisher(ReplyChunkMsg, interfaces.REPLY, interfaces.STREAM_QOS)
        self.alert_pub = self.create_publisher(SafetyAlert, interfaces.SAFETY_ALERT, interfaces.ALERT_QOS)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._publish_state(ConversationState.IDLE)  # until the model is loaded

        config = EngineConfig.from_parameters({name: self._param(name) for name in PARAMETERS})
        self.engine = build_engine(config, Path(get_package_share_directory("esbot_dialogue")),
                                   on_alert=self._publish_alert, log=self.get_logger())
        self.worker = TurnWorker(self.engine, self._publish_chunk, self._publish_current_state, self.get_logger())
        self._speaking_turn = ""  # the reply the robot's voice is playing, "" when silent

        self.add_post_set_parameters_callback(self._after_set_parameters)
        self.create_subscription(Transcript, interfaces.USER_TRANSCRIPT, self._on_transcript, interfaces.STREAM_QOS)
        self.create_subscription(BargeIn, interfaces.BARGE_IN, self._on_barge_in, interfaces.STREAM_QOS)
        self.create_subscription(SpokenReply, interfaces.SPOKEN_REPLY, self._on_spoken_reply, interfaces.STREAM_QOS)
        self.create_subscription(SpeakingState, interfaces.ROBOT_SPEAKING, self._on_speaking, interfaces.STATE_QOS)
        self.create_subscription(ListeningState, interfaces.LISTENING_STATE, self._on_listening, interfaces.STATE_QOS)
        services = MutuallyExclusiveCallbackGroup()
        self.create_service(ResetConversation, interfaces.RESET_CONVERSATION, self._on_reset, callback_group=services)
        self.create_service(LoadAdapter, interfaces.LOAD_ADAPTER, self._on_load_adapter, callback_group=services)
        self.create_service(GetHistory, interfaces.GET_HISTORY, self._on_get_history, callback_group=services)
        self.create_service(ResetSafetyMode, interfaces.RESET_SAFETY_MODE, self._on_reset_safety_mode,
                            callback_group=services)
        self.create_service(ForgetMemory, interfaces.FORGET_MEMORY, self._on_forget_memory, callback_group=services)
        self.create_timer(3600.0, self.engine.purge_expired, callback_group=services)
        self.create_timer(2.0, self._publish_diagnostics)

        self.worker.start()
        self._publish_state(ConversationState.LISTENING)
        self.get_logger().info("ready: listening for transcripts")

    def _param(self, name):
        return self.get_parameter(name).value

    def _after_set_parameters(self, parameters) -> None:
        # Ranges are enforced by the descriptors; the next turn samples with the new values.
        if any(p.name in GENERATION_PARAMETERS for p in parameters):
            self.engine.settings = generation_settings({name: self._param(name) for name in GENERATION_PARAMETERS})
            self.get_logger().info(f"generation settings now {self.engine.settings}")

    # --- transcripts in, chunks out ------------------------------------------------------------
    def _on_transcript(self, msg: Transcript) -> None:
        if not msg.is_final:
            return  # partial hypotheses are for display; only final transcripts are answered
        utterance_id = msg.utterance_id or f"anon-{uuid.uuid4().hex[:12]}"
        if not self.worker.submit(utterance_id, msg.text):
            self.get_logger().warning(f"transcript {utterance_id} already received: not answered twice")
            return
        if self.worker.pending() > 1 or self.worker.busy:
            self.get_logger().info(f"transcript {utterance_id} queued ({self.worker.pending()} waiting)")

    def _on_barge_in(self, msg: BargeIn) -> None:
        # The user talks over the reply: stop generating it (the queued utterances stay).
        stopped = self.worker.barge_in(msg.interrupted_turn_id)
        if stopped:
            self.get_logger().info(f"barge-in: generation of turn {stopped} stopped")

    def _on_spoken_reply(self, msg: SpokenReply) -> None:
        if msg.interrupted:
            self.engine.record_spoken(msg.turn_id, msg.spoken_text, True)
            self.get_logger().info(f"turn {msg.turn_id} was cut short; the history keeps what was heard: "
                                   f"{msg.spoken_text!r}")

    def _on_speaking(self, msg: SpeakingState) -> None:
        self._speaking_turn = msg.turn_id if msg.speaking else ""
        self._publish_current_state()

    def _on_listening(self, msg: ListeningState) -> None:
        self.engine.pause_background(msg.user_speaking or msg.transcribing)

    def _publish_current_state(self) -> None:
        if self._speaking_turn:
            state, turn_id = ConversationState.SPEAKING, self._speaking_turn
        elif self.worker.generating_turn or self.worker.busy:
            state, turn_id = ConversationState.THINKING, self.worker.generating_turn
        else:
            state, turn_id = ConversationState.LISTENING, ""
        self._publish_state(state, turn_id, self.worker.pending())

    def _publish_chunk(self, chunk: ReplyChunk, since_utterance_s: float) -> None:
        msg = ReplyChunkMsg(turn_id=chunk.turn_id, utterance_id=chunk.utterance_id, chunk_index=chunk.chunk_index,
                            text=chunk.text, is_final=chunk.is_final, since_utterance=duration_msg(since_utterance_s))
        msg.header.stamp = self.get_clock().now().to_msg()
        self.reply_pub.publish(msg)

    def _publish_state(self, state: int, turn_id: str = "", pending: int = 0) -> None:
        msg = ConversationState(state=state, turn_id=turn_id, pending_utterances=pending)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(msg)

    def _publish_alert(self, record: AlertRecord) -> None:
        """Called by the engine right after the alert is durable and before anything is spoken."""
        msg = SafetyAlert(alert_id=record.alert_id, level=record.level, category=record.category,
                          utterance_id=record.utterance_id, text=record.text, action_taken=record.action_taken)
        msg.header.stamp = time_msg(record.stamp)
        self.alert_pub.publish(msg)
        self.get_logger().error(f"SAFETY ALERT level {record.level} ({record.category}) on {record.utterance_id}: "
                                f"{record.action_taken}")

    # --- services ---------------------------------------------------------------------------
    def _on_reset(self, request: ResetConversation.Request, response: ResetConversation.Response):
        # A reply being generated belongs to the conversation being forgotten.
        with self.worker.exclusive(cancel_reply=True):
            try:
                response.cleared_turns = self.engine.reset()
            except StoreError as error:
                response.success, response.message = False, f"not reset: {error}"
                self.get_logger().error(f"conversation reset: {response.message}")
                return response
        response.success = True
        response.message = f"cleared {response.cleared_turns} turns"
        self.get_logger().info(f"conversation reset ({request.reason or 'no reason given'}): {response.message}")
        return response

    def _on_forget_memory(self, request: ForgetMemory.Request, response: ForgetMemory.Response):
        # A reply being generated belongs to what is being forgotten when that is this conversation.
        current = self.engine.forgets_current_conversation(request.session_id, request.user_name)
        try:
            with self.worker.exclusive(cancel_reply=current):
                forgotten = self.engine.forget(request.session_id, request.user_name)
        except (StoreError, ValueError) as error:
            response.success, response.message = False, f"nothing forgotten: {error}"
            self.get_logger().error(f"forget_memory: {response.message}")
            return response
        response.success = True
        response.forgotten_sessions, response.forgotten_turns = forgotten.sessions, forgotten.turns
        what = f"user {request.user_name!r}" if request.user_name else f"session {forgotten.session_id}"
        response.message = f"forgot {what}: {forgotten.sessions} sessions, {forgotten.turns} turns"
        if forgotten.current:
            response.message += "; the conversation starts afresh"
        self.get_logger().warning(f"forget_memory ({request.reason or 'no reason given'}): {response.message}")
        return response

    def _on_load_adapter(self, request: LoadAdapter.Request, response: LoadAdapter.Response):
        with self.worker.exclusive():  # waits for the reply in progress
            try:
                response.message = self.engine.set_adapter(request.adapter_path)
                response.success = True
            except AdapterError as error:
                response.success = False
                response.message = str(error)
            except Exception as error:  # noqa: BLE001 - a backend failure is an answer, never a dead node
                response.success = False
                response.message = f"the LLM backend could not switch adapters: {error!r}"
        response.active_adapter = self.engine.adapter_path or ""
        if response.success:  # rclpy ties each logging call site to one severity
            self.get_logger().info(f"load_adapter: {response.message}")
        else:
            self.get_logger().error(f"load_adapter: {response.message}")
        return response

    def _on_reset_safety_mode(self, request: ResetSafetyMode.Request, response: ResetSafetyMode.Response):
        operator = request.operator_name or "unnamed operator"
        try:
            self.engine.reset_safety_mode(operator, request.reason)
            response.success, response.message = True, "careful mode ended"
            self.get_logger().warning(f"safety: careful mode ended by {operator} "
                                      f"({request.reason or 'no reason given'})")
        except AlertLogError as error:  # the reset must be on record before it takes effect
            response.success, response.message = False, f"not reset: {error}"
            self.get_logger().error(f"safety: {response.message}")
        return response

    def _on_get_history(self, request: GetHistory.Request, response: GetHistory.Response):
        turns = self.engine.history.turns()
        response.total_turns = len(turns)
        if request.max_turns:
            turns = turns[-request.max_turns:]
        response.turns = [DialogueTurn(stamp=time_msg(t.stamp), turn_id=t.turn_id, role=t.role, text=t.text,
                                       interrupted=t.interrupted) for t in turns]
        return response

    def _publish_diagnostics(self) -> None:
        status = self.engine.status()
        values = {**status.values, **self.worker.status()}
        self.diagnostics_pub.publish(diagnostic_array(self, "dialogue", status.message, values,
                                                      DIAGNOSTIC_LEVELS[status.level], hardware_id=values["device"]))

    def destroy_node(self):
        self.worker.stop()
        self.engine.close()  # after the worker: no turn is using it any more
        return super().destroy_node()


def main(args=None):
    # A wrong model, device, dtype, prompt budget or session: say exactly what, not a traceback.
    spin_node("dialogue", DialogueNode, (ModelLoadError, ValueError, StoreError), threads=3, args=args)


if __name__ == "__main__":
    main()
