"""The automatic metrics against values computed by hand and the libraries' reference examples."""

import math

import pytest

from esbot_training.evaluation import metrics

HYP = "the cat sat on the mat"
REF = "the cat is on the mat"


def test_bleu2_by_hand():
    # unigrams 5/6 match (the x2, cat, on, mat), bigrams 3/5 (the cat, on the, the mat), same length: BP 1
    expected = 100 * math.sqrt(5 / 6 * 3 / 5)
    assert metrics.corpus_bleu([HYP], [REF], 2) == pytest.approx(expected, abs=1e-6)
    assert metrics.sentence_bleu(HYP, REF, 2) == pytest.approx(expected, abs=1e-6)


def test_bleu4_by_hand_with_exp_smoothing():
    # trigrams 1/4 (on the mat); no 4-gram of 3 matches: exp smoothing counts it as 1/(2*3)
    expected = 100 * (5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25
    assert metrics.corpus_bleu([HYP], [REF], 4) == pytest.approx(expected, abs=1e-6)


def test_bleu_is_corpus_level_and_perfect_on_identity():
    assert metrics.corpus_bleu([HYP, REF], [HYP, REF], 4) == pytest.approx(100.0)
    # corpus BLEU pools n-gram counts: not the mean of the sentence scores
    pooled = metrics.corpus_bleu([HYP, "a dog"], [REF, "a dog barked loudly"], 2)
    mean = (metrics.sentence_bleu(HYP, REF, 2) + metrics.sentence_bleu("a dog", "a dog barked loudly", 2)) / 2
    assert pooled != pytest.approx(mean, abs=0.5)


def test_rouge_by_hand():
    scores = metrics.rouge(HYP, REF)
    assert scores["rougeL"] == pytest.approx(100 * 5 / 6)  # LCS "the cat on the mat": P = R = 5/6
    assert scores["rouge2"] == pytest.approx(60.0)  # 3 of 5 bigrams both ways
    assert metrics.rouge("Hello, WORLD!", "hello world")["rougeL"] == pytest.approx(100.0)  # lowercased, punctuation out


def test_meteor_nltk_reference_example():
    # The example of NLTK's meteor_score docstring: 0.6944
    hypothesis = ("It is a guide to action which ensures that the military always obeys the commands of the party")
    reference = "It is a guide to action that ensures that the military will forever heed Party commands"
    assert metrics.meteor(hypothesis, reference) == pytest.approx(69.44, abs=0.005)


def test_meteor_by_hand_and_tokenization():
    # Identical 6 tokens: F-mean 1, one chunk of 6 matches: penalty 0.5 * (1/6)^3
    assert metrics.meteor(HYP, HYP) == pytest.approx(100 * (1 - 0.5 * (1 / 6) ** 3))
    # wordpunct splits punctuation off ("mat." -> "mat", "."): no punkt needed
    assert metrics.meteor("the cat sat on the mat.", "the cat sat on the mat .") == pytest.approx(
        100 * (1 - 0.5 * (1 / 7) ** 3))
    assert metrics.meteor("completely different words", HYP) == 0.0


@pytest.fixture(scope="module")
def bertscore():
    return metrics.BertScore(batch_size=8, device="cpu")


def test_bertscore_with_the_packaged_encoder(bertscore):
    assert bertscore.num_layers == 6 and "all-MiniLM-L6-v2, layer 6" in bertscore.describe()
    identical, paraphrase, unrelated = bertscore.score(
        [REF, "a cat was sitting on the mat", "stock prices fell sharply today"], [REF, REF, REF])
    assert identical["bertscore_f1"] == pytest.approx(100.0, abs=1e-3)
    assert paraphrase["bertscore_f1"] > unrelated["bertscore_f1"] + 5
    assert bertscore.score([], []) == []


def test_bertscore_equals_the_library_call(bertscore):
    from bert_score import score

    candidates, references = ["I hear how hard this is for you."], ["That sounds really difficult."]
    p, r, f = score(candidates, references, model_type=metrics.bertscore_encoder("all-MiniLM-L6-v2"),
                    num_layers=6, lang="en", idf=False, rescale_with_baseline=False, device="cpu")
    ours = bertscore.score(candidates, references)[0]
    assert ours["bertscore_p"] == pytest.approx(100 * float(p[0]), abs=1e-4)
    assert ours["bertscore_r"] == pytest.approx(100 * float(r[0]), abs=1e-4)
    assert ours["bertscore_f1"] == pytest.approx(100 * float(f[0]), abs=1e-4)


def test_reference_nll_equals_the_models_own_loss(session_transformers_llm):
    import torch

    model, tokenizer = session_transformers_llm.model, session_transformers_llm.tokenizer
    prompt = tokenizer("<|im_start|>user\nI lost my job.<|im_end|>\n<|im_start|>assistant\n",
                       add_special_tokens=False)["input_ids"]
    reply = tokenizer("I am sorry to hear that.<|im_end|>", add_special_tokens=False)["input_ids"]
    nll, count = metrics.reference_nll(model, prompt, reply)
    ids = torch.tensor([prompt + reply])
    labels = torch.tensor([[-100] * len(prompt) + reply])
    with torch.no_grad():
        mean_loss = float(model(input_ids=ids, labels=labels).loss)
    assert count == len(reply)
    assert nll / count == pytest.approx(mean_loss, rel=1e-4)


def test_aggregate_weights_perplexity_by_tokens_and_counts_turns():
    rows = [
        {"generated": HYP, "reference": REF, "rouge2": 60.0, "ref_nll_sum": 2.0, "ref_tokens": 2, "new_tokens": 10},
        {"generated": REF, "reference": REF, "rouge2": 100.0, "ref_nll_sum": 6.0, "ref_tokens": 2, "new_tokens": 20},
    ]
    result = metrics.aggregate(rows)
    assert result["turns"] == 2 and result["perplexity_turns"] == 2
    assert result["perplexity"] == pytest.approx(math.exp(8 / 4))
    assert result["rouge2"] == pytest.approx(80.0)
    assert result["mean_new_tokens"] == 15
    assert "meteor" not in result  # not computed: not reported as 0
    assert metrics.aggregate([]) == {"turns": 0}
