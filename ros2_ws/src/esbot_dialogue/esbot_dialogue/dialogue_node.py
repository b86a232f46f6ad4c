"""The dialogue node: ROS wiring around DialogueEngine (dialogue_engine.py).

Subscribes:  user_transcript (esbot_msgs/Transcript, final ones are answered)
Publishes:   reply (esbot_msgs/ReplyChunk, sentence by sentence, then one final chunk),
             conversation_state (esbot_msgs/ConversationState, latched),
             safety_alert (esbot_msgs/SafetyAlert, kept for late joiners),
             /diagnostics (diagnostic_msgs/DiagnosticArray)
Services:    reset_conversation, load_adapter, get_history, reset_safety_mode (esbot_msgs/srv)
Transcripts are queued and answered one at a time, in order, each at most once. Every one is
assessed by the safety policy before the LLM sees it, and every reply sentence before it is
published (esbot_dialogue/safety).
"""

import threading
import time
import uuid
from pathlib import Path

import rclpy
from ament_index_python.packages import get_package_share_directory
from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_dialogue.adapters import AdapterError, history_representation_for, read_adapter_info
from esbot_dialogue.dialogue_engine import DialogueEngine, ReplyChunk
from esbot_dialogue.generation import ChatModel, GenerationSettings, ModelLoadError
from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from esbot_dialogue.safety.alert_log import DEFAULT_ALERT_LOG, AlertLogError, AlertRecord
from esbot_dialogue.safety.policy import SafetyPolicy
from esbot_dialogue.utterance_queue import UtteranceQueue
from esbot_msgs.msg import ConversationState, DialogueTurn, SafetyAlert, Transcript
from esbot_msgs.msg import ReplyChunk as ReplyChunkMsg
from esbot_msgs.srv import GetHistory, LoadAdapter, ResetConversation, ResetSafetyMode

# name: (default, description, extra descriptor fields); read_only ones need a restart.
PARAMETERS = {
    "model": ("HuggingFaceTB/SmolLM2-135M-Instruct",
              "Hugging Face causal LM id or local path; ids prepared in the models folder load offline.",
              {"read_only": True}),
    "models_dir": ("", 'Models folder; "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models.', {"read_only": True}),
    "device": ("auto", "auto (cuda if available, else cpu), cpu, cuda or cuda:N.", {"read_only": True}),
    "dtype": ("auto", "auto (bf16/fp16 on CUDA, fp32 on CPU), float32, float16 or bfloat16.", {"read_only": True}),
    "adapter_path": ("", 'LoRA adapter folder (PEFT format) loaded at start; "" = base model. '
                         "Use the load_adapter service to change it at run time.", {"read_only": True}),
    "system_prompt": ("", '"" = the built-in emotional-support prompt.', {"read_only": True}),
    "history_representation": ("", 'How past turns are put in the context: raw, keypos or nostopwords; "" = the '
                                   "one the loaded adapter was trained with (its esbot_manifest.json), else raw.",
                               {"read_only": True}),
    "context_window": (2048, "Tokens for system prompt + history + utterance + reply.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=256, to_value=131072)]}),
    "max_new_tokens": (128, "Longest reply, in tokens.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=1, to_value=4096)]}),
    "temperature": (0.7, "Sampling temperature.",
                    {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=5.0)]}),
    "top_p": (0.95, "Nucleus sampling probability mass.",
              {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=1.0)]}),
    "top_k": (50, "Sample among the k most likely tokens.",
              {"integer_range": [IntegerRange(from_value=0, to_value=100000)]}),
    "do_sample": (True, "Sample (true) or decode greedily (false).", {}),
    "repetition_penalty": (1.1, "Penalty for repeating tokens (1.0 = none).",
                           {"floating_point_range": [FloatingPointRange(from_value=1.0, to_value=3.0)]}),
    "seed": (-1, "Sampling seed; -1 = not fixed.", {"integer_range": [IntegerRange(from_value=-1, to_value=2**31 - 1)]}),
    "safety_locale": ("US", "Country whose crisis hotlines the robot gives (US, UK, CA, AU, IN; others get the "
                            "international fallback, with a warning).", {"read_only": True}),
    "safety_hotlines_file": ("", 'Hotline table (YAML); "" = the one installed with esbot_dialogue '
                                 "(config/safety_hotlines.yaml). Operators must check its numbers.",
                             {"read_only": True}),
    "safety_alert_log": ("", 'Durable JSON-lines log of safety alerts, written before anything else happens; '
                             '"" = ~/.local/share/esbot/safety/alerts.jsonl.', {"read_only": True}),
    "safety_semantic_tier": (True, "Add the MiniLM similarity tier to the rule tier (it can only raise a risk "
                                   "level); false = rules only.", {"read_only": True}),
}
GENERATION_PARAMETERS = ("temperature", "top_p", "top_k", "do_sample", "repetition_penalty", "seed")


def duration_from_seconds(seconds: float) -> Duration:
    nanoseconds = max(int(seconds * 1e9), 0)
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def time_from_epoch(stamp: float) -> Time:
    nanoseconds = int(stamp * 1e9)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


class DialogueNode(Node):
    def __init__(self):
        super().__init__("dialogue")
        for name, (default, description, extra) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, **extra))
        self.state_pub = self.create_publisher(ConversationState, interfaces.CONVERSATION_STATE, interfaces.STATE_QOS)
        self.reply_pub = self.create_publisher(ReplyChunkMsg, interfaces.REPLY, interfaces.STREAM_QOS)
        self.alert_pub = self.create_publisher(SafetyAlert, interfaces.SAFETY_ALERT, interfaces.ALERT_QOS)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.queue = UtteranceQueue()
        self._publish_state(ConversationState.IDLE)  # until the model is loaded

        self.engine = self._load_engine()
        self._received_at: dict[str, float] = {}  # utterance id -> monotonic time of arrival
        self._engine_lock = threading.Lock()  # one turn, reset or adapter change at a time
        self._cancel = threading.Event()
        self._stopping = threading.Event()
        self._turns_answered = 0
        self._last_stats = None

        self.add_post_set_parameters_callback(self._after_set_parameters)
        self.create_subscription(Transcript, interfaces.USER_TRANSCRIPT, self._on_transcript, interfaces.STREAM_QOS)
        services = MutuallyExclusiveCallbackGroup()
        self.create_service(ResetConversation, interfaces.RESET_CONVERSATION, self._on_reset, callback_group=services)
        self.create_service(LoadAdapter, interfaces.LOAD_ADAPTER, self._on_load_adapter, callback_group=services)
        self.create_service(GetHistory, interfaces.GET_HISTORY, self._on_get_history, callback_group=services)
        self.create_service(ResetSafetyMode, interfaces.RESET_SAFETY_MODE, self._on_reset_safety_mode,
                            callback_group=services)
        self.create_timer(2.0, self._publish_diagnostics)

        self._worker = threading.Thread(target=self._answer_utterances, name="dialogue-worker", daemon=True)
        self._worker.start()
        self._publish_state(ConversationState.LISTENING)
        self.get_logger().info("ready: listening for transcripts")

    # --- set-up -----------------------------------------------------------------------------
    def _param(self, name):
        return self.get_parameter(name).value

    def _generation_settings(self) -> GenerationSettings:
        seed = self._param("seed")
        return GenerationSettings(
            temperature=self._param("temperature"), top_p=self._param("top_p"), top_k=self._param("top_k"),
            max_new_tokens=self._param("max_new_tokens"), do_sample=self._param("do_sample"),
            repetition_penalty=self._param("repetition_penalty"), seed=None if seed < 0 else seed)

    def _load_engine(self) -> DialogueEngine:
        started = time.monotonic()
        chat_model = ChatModel.load(self._param("model"), device=self._param("device"), dtype=self._param("dtype"),
                                    models_dir=self._param("models_dir") or None)
        self.get_logger().info(f"model {chat_model.model_id} on {chat_model.device} ({chat_model.dtype}) "
                               f"loaded in {time.monotonic() - started:.1f} s")
        adapter = self._param("adapter_path")
        if adapter:
            try:
                chat_model.load_adapter(adapter)
                self.get_logger().info(f"adapter {adapter} loaded")
            except AdapterError as error:
                self.get_logger().error(f"{error} -- serving the base model instead")
        prompt_builder = PromptBuilder(chat_model.tokenizer, self._param("system_prompt") or DEFAULT_SYSTEM_PROMPT,
                                       self._param("context_window"), self._param("max_new_tokens"),
                                       self._history_representation(chat_model.adapter_path))
        return DialogueEngine(chat_model, prompt_builder, self._generation_settings(),
                              safety=self._load_safety_policy(), on_alert=self._publish_alert)

    def _history_representation(self, adapter_path: str | None) -> str:
        info = read_adapter_info(adapter_path) if adapter_path else None
        return history_representation_for(info, self._param("history_representation"))

    def _load_safety_policy(self) -> SafetyPolicy:
        hotlines = self._param("safety_hotlines_file") or str(
            Path(get_package_share_directory("esbot_dialogue")) / "config" / "safety_hotlines.yaml")
        alert_log = self._param("safety_alert_log") or str(DEFAULT_ALERT_LOG.expanduser())
        model_tier = None
        if self._param("safety_semantic_tier"):
            from esbot_dialogue.safety.semantic import SemanticTier  # loads the MiniLM encoder

            model_tier = SemanticTier()
        policy = SafetyPolicy.from_config(hotlines, self._param("safety_locale"), alert_log, model_tier)
        for warning in policy.warnings:
            self.get_logger().warning(f"safety: {warning}")
        self.get_logger().info(f"safety: {'rules + MiniLM' if model_tier else 'rules only'}, hotlines {hotlines}, "
                               f"alert log {alert_log}")
        return policy

    def _after_set_parameters(self, parameters) -> None:
        # Ranges are enforced by the descriptors; the next turn samples with the new values.
        if any(p.name in GENERATION_PARAMETERS for p in parameters):
            self.engine.settings = self._generation_settings()
            self.get_logger().info(f"generation settings now {self.engine.settings}")

    # --- transcripts in, chunks out ------------------------------------------------------------
    def _on_transcript(self, msg: Transcript) -> None:
        if not msg.is_final:
            return  # partial hypotheses are for display; only final transcripts are answered
        utterance_id = msg.utterance_id or f"anon-{uuid.uuid4().hex[:12]}"
        if not self.queue.put(utterance_id, msg.text):
            self.get_logger().warning(f"transcript {utterance_id} already received: not answered twice")
            return
        self._received_at[utterance_id] = time.monotonic()
        if self.queue.pending() > 1 or self._engine_lock.locked():
            self.get_logger().info(f"transcript {utterance_id} queued ({self.queue.pending()} waiting)")

    def _answer_utterances(self) -> None:
        while not self._stopping.is_set():
            item = self.queue.get(timeout=0.2)
            if item is None:
                continue
            with self._engine_lock:
                self._cancel.clear()
                self._publish_state(ConversationState.THINKING)
                try:
                    outcome = self.engine.answer(item.utterance_id, item.text, self._publish_chunk, self._cancel)
                except Exception as error:  # a failed turn must not stop the robot listening
                    self.get_logger().error(f"answering {item.utterance_id} failed: {error!r}")
                    outcome = None
                finally:
                    self._received_at.pop(item.utterance_id, None)
            if outcome is not None:
                for warning in outcome.warnings:
                    self.get_logger().warning(f"{item.utterance_id}: {warning}")
                if not outcome.ignored:
                    self._turns_answered += 1
                    self._last_stats = outcome.stats
            self._publish_state(ConversationState.LISTENING)

    def _publish_chunk(self, chunk: ReplyChunk) -> None:
        received = self._received_at.get(chunk.utterance_id, time.monotonic())
        msg = ReplyChunkMsg(turn_id=chunk.turn_id, utterance_id=chunk.utterance_id, chunk_index=chunk.chunk_index,
                            text=chunk.text, is_final=chunk.is_final,
                            since_utterance=duration_from_seconds(time.monotonic() - received))
        msg.header.stamp = self.get_clock().now().to_msg()
        self.reply_pub.publish(msg)
        if chunk.chunk_index == 0 and not chunk.is_final:
            self._publish_state(ConversationState.THINKING, chunk.turn_id)

    def _publish_state(self, state: int, turn_id: str = "") -> None:
        msg = ConversationState(state=state, turn_id=turn_id, pending_utterances=self.queue.pending())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(msg)

    def _publish_alert(self, record: AlertRecord) -> None:
        """Called by the engine right after the alert is durable and before anything is spoken."""
        msg = SafetyAlert(alert_id=record.alert_id, level=record.level, category=record.category,
                          utterance_id=record.utterance_id, text=record.text, action_taken=record.action_taken)
        msg.header.stamp = time_from_epoch(record.stamp)
        self.alert_pub.publish(msg)
        self.get_logger().error(f"SAFETY ALERT level {record.level} ({record.category}) on {record.utterance_id}: "
                                f"{record.action_taken}")

    # --- services ---------------------------------------------------------------------------
    def _on_reset(self, request: ResetConversation.Request, response: ResetConversation.Response):
        self._cancel.set()  # a reply being generated belongs to the conversation being forgotten
        with self._engine_lock:
            response.cleared_turns = self.engine.reset()
        response.success = True
        response.message = f"cleared {response.cleared_turns} turns"
        self.get_logger().info(f"conversation reset ({request.reason or 'no reason given'}): {response.message}")
        return response

    def _on_load_adapter(self, request: LoadAdapter.Request, response: LoadAdapter.Response):
        chat_model = self.engine.chat_model
        with self._engine_lock:  # waits for the reply in progress
            try:
                if request.adapter_path:
                    chat_model.load_adapter(request.adapter_path)
                    response.message = f"adapter {chat_model.adapter_path} loaded"
                else:
                    chat_model.unload_adapter()
                    response.message = "adapter unloaded: serving the base model"
                builder = self.engine.prompt_builder
                builder.history_representation = self._history_representation(chat_model.adapter_path)
                response.message += f"; past turns in {builder.history_representation} representation"
                response.success = True
            except AdapterError as error:
                response.success = False
                response.message = str(error)
        response.active_adapter = chat_model.adapter_path or ""
        if response.success:  # rclpy ties each logging call site to one severity
            self.get_logger().info(f"load_adapter: {response.message}")
        else:
            self.get_logger().error(f"load_adapter: {response.message}")
        return response

    def _on_reset_safety_mode(self, request: ResetSafetyMode.Request, response: ResetSafetyMode.Response):
        policy = self.engine.safety
        try:
            policy.reset_careful_mode(request.operator_name or "unnamed operator", request.reason)
            response.success, response.message = True, "careful mode ended"
            self.get_logger().warning(f"safety: careful mode ended by {request.operator_name or 'unnamed operator'} "
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
        response.turns = [DialogueTurn(stamp=time_from_epoch(t.stamp), turn_id=t.turn_id, role=t.role, text=t.text,
                                       interrupted=t.interrupted) for t in turns]
        return response

    def _publish_diagnostics(self) -> None:
        chat_model = self.engine.chat_model
        values = {
            "model": chat_model.model_id, "device": str(chat_model.device), "dtype": str(chat_model.dtype),
            "adapter": chat_model.adapter_path or "", "turns_answered": str(self._turns_answered),
            "pending_utterances": str(self.queue.pending()), "history_turns": str(len(self.engine.history)),
            "safety_careful_mode": str(self.engine.safety.careful_mode),
        }
        if self._last_stats is not None:
            values["last_time_to_first_text_s"] = f"{self._last_stats.time_to_first_text_s or 0:.3f}"
            values["last_tokens_per_s"] = f"{self._last_stats.tokens_per_s:.1f}"
        status = DiagnosticStatus(level=DiagnosticStatus.OK, name=f"{self.get_fully_qualified_name()}: dialogue",
                                  message="ready", hardware_id=str(chat_model.device),
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    def destroy_node(self):
        # Stop generation at the next token and let the worker finish, so the process never
        # exits with torch still running in a thread.
        self._stopping.set()
        self._cancel.set()
        self._worker.join(timeout=10.0)
        return super().destroy_node()


def main(args=None):
    rclpy.init(args=args)
    node = None
    exit_code = 0
    try:
        try:
            node = DialogueNode()
        except (ModelLoadError, ValueError) as error:
            # A wrong model, device, dtype or prompt budget: say exactly what, not a traceback.
            print(f"[dialogue] cannot start: {error}", flush=True)
            exit_code = 1
        else:
            executor = MultiThreadedExecutor(num_threads=3)
            executor.add_node(node)
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    raise SystemExit(exit_code)


if __name__ == "__main__":
    main()
