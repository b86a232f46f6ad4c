"""The LLM judge: parsing good, malformed and out-of-range replies; templates; the OpenAI-compatible backend."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from esbot_training.errors import TrainingConfigError
from esbot_training.evaluation.judge import (JudgeRequestError, OpenAIJudge, load_template, parse_verdict, render,
                                             transcript)
from esbot_training.evaluation.rubrics import RUBRICS

FIVE = RUBRICS["dialogue_0to5"]
TEN = RUBRICS["dialogue_0to10"]


def test_json_reply_with_prose_and_code_fence():
    reply = 'Here is my rating.\n```json\n{"Engagement": 4, "comforting": 3, "Appropriateness": "5", "suggestion": 0}\n```'
    verdict = parse_verdict(reply, FIVE)
    assert verdict.parsed_as == "json" and verdict.complete
    assert verdict.scores == {"engagement": 4, "comforting": 3, "appropriateness": 5, "suggestion": 0}


def test_list_reply_in_several_styles():
    reply = "Fluency: 8/10\n- **Engagement** - 6\n2. Comforting = 7\nAppropriate: 9\nSuggestions: 4"
    verdict = parse_verdict(reply, TEN)
    assert verdict.parsed_as == "list" and verdict.complete
    assert verdict.scores == {"fluency": 8, "engagement": 6, "comforting": 7, "appropriateness": 9, "suggestion": 4}


def test_json_cut_off_mid_way_keeps_what_is_there():
    verdict = parse_verdict('JSON:\n{\n  "fluency": 7,\n  "engagement": 6,\n  "comfort', TEN)
    assert verdict.scores == {"fluency": 7, "engagement": 6}
    assert verdict.missing == ["comforting", "appropriateness", "suggestion"]
    assert not verdict.complete


def test_out_of_range_scores_are_reported_not_clipped():
    verdict = parse_verdict('{"engagement": 6, "comforting": -1, "appropriateness": 5, "suggestion": 2.5}', FIVE)
    assert verdict.out_of_range == {"engagement": 6, "comforting": -1}
    assert verdict.scores == {"appropriateness": 5, "suggestion": 2.5}
    assert not verdict.complete
    # the same 6 is fine on the 0-10 rubric
    assert parse_verdict("Engagement: 6", TEN).scores == {"engagement": 6}


def test_malformed_replies_give_no_scores():
    for reply in ("", "I think the supporter did well overall.", '{"name": "Tom", "age": 25}',
                  '{"engagement": "<score 0-5>", "comforting": true}', "Engagement: high"):
        verdict = parse_verdict(reply, FIVE)
        assert verdict.scores == {} and verdict.missing == list(FIVE.criteria), reply
        assert verdict.parsed_as == "none"


def test_first_value_wins_and_unrelated_keys_are_ignored():
    verdict = parse_verdict('{"engagement": 2, "engagement_note": 5, "score": 4}\nEngagement: 5', FIVE)
    assert verdict.scores == {"engagement": 2}


def test_templates_render_both_dialogues_and_are_hashed():
    for name, rubric in RUBRICS.items():
        template, file_name, digest = load_template(name)
        assert file_name == f"{name}.txt" and len(digest) == 12
        reference = transcript([("seeker", "I feel alone."), ("supporter", "That sounds hard.")])
        generated = transcript([("seeker", "I feel alone."), ("supporter", "Why?")])
        prompt = render(name, template, file_name, digest, reference, generated)
        assert "Help-seeker: I feel alone.\nSupporter: That sounds hard." in prompt.text
        assert "Supporter: Why?" in prompt.text and "$" not in prompt.text
        assert all(criterion in prompt.text for criterion in rubric.criteria)
        assert f"0-{rubric.high}" in prompt.text


def test_a_template_without_placeholders_is_refused(tmp_path):
    (tmp_path / "dialogue_0to5.txt").write_text("Rate it: $generated_dialogue")
    with pytest.raises(TrainingConfigError, match="reference_dialogue"):
        load_template("dialogue_0to5", str(tmp_path))


class _Endpoint(BaseHTTPRequestHandler):
    requests: list = []
    status = 200
    content = '{"engagement": 4, "comforting": 4, "appropriateness": 3, "suggestion": 1}'

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Endpoint.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if _Endpoint.status == 200:
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": _Endpoint.content}}]})
        else:
            payload = json.dumps({"error": {"message": "nope"}})
        self.send_response(_Endpoint.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    _Endpoint.requests, _Endpoint.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_backend(endpoint, monkeypatch):
    monkeypatch.setenv("ESBOT_TEST_JUDGE_KEY", "secret")
    judge = OpenAIJudge(endpoint, "judge-model", "ESBOT_TEST_JUDGE_KEY", 50, 0.0, 10)
    answers = judge.ask_many(["rate this", "and this"], batch_size=4)
    assert [parse_verdict(a, FIVE).scores["engagement"] for a in answers] == [4, 4]
    first = _Endpoint.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer secret"
    assert first["body"] == {"model": "judge-model", "messages": [{"role": "user", "content": "rate this"}],
                             "temperature": 0.0, "max_tokens": 50}
    assert judge.name == f"openai:judge-model@{endpoint}"


def test_openai_backend_errors(endpoint, monkeypatch):
    monkeypatch.delenv("ESBOT_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(TrainingConfigError, match="ESBOT_TEST_JUDGE_KEY"):
        OpenAIJudge(endpoint, "m", "ESBOT_TEST_JUDGE_KEY", 50, 0.0, 10)
    judge = OpenAIJudge(endpoint, "m", "", 50, 0.0, 10)  # an endpoint without a key
    _Endpoint.status = 500
    assert isinstance(judge.ask("x"), JudgeRequestError)  # one item fails, the run goes on
    _Endpoint.status = 401
    with pytest.raises(TrainingConfigError, match="HTTP 401"):  # the setup is wrong: stop
        judge.ask("x")
    assert _Endpoint.requests[-1]["auth"] is None
    unreachable = OpenAIJudge("http://127.0.0.1:9/v1", "m", "", 50, 0.0, 2)
    assert isinstance(unreachable.ask("x"), JudgeRequestError)
