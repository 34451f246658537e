"""``grader calibrate``: run each trained-model exercise's reference answer and the right
variants of it (``grader.variants``) over several seeds, per dataset, and set every accuracy
target a stated margin below the worst run, with the evidence.

Each run is the solution notebook (seeded through ``GRADER_SEED``, the answer cell replaced by
the variant's), top to bottom in a fresh kernel as a student's would be; its saved model is then
evaluated out of process, exactly as grading does.
"""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from ..checks import GRADED_MODELS_DIR
from .verdicts import evaluate_as_registered, evaluate_saved_model
from .pipeline import course_settings, find_root
from .runs import run_notebook, scratch_copy, solution_notebook
from ..targets import TARGETS_FILE


def available_keys() -> dict[str, str]:
    """Target key -> COURSE_DATASET value, for every dataset that can be loaded here."""
    from .. import data

    keys = {}
    for name in data.DATASETS:
        try:
            splits = data.load(name, quiet=True)
        except data.DatasetError:
            continue
        keys[splits.target_key] = name
    return keys


def calibrate(root: Path | None = None, seeds: int = 5, datasets=None, only=None,
              output: Path | None = None, variant_seeds: int = 2, variants=None) -> int:
    """``variants`` names the answers to run (``reference`` and the names in
    ``grader.variants``; default all). The runs of answers not named are kept from the targets
    file, so one variant can be added without re-running the others; the target is always set
    below the worst of every recorded run."""
    from ..variants import REFERENCE, variants as variants_of

    root = root or find_root()
    # the test copy grading scores on, drawn from the instructor's seed (grader.transforms)
    copy_seed = None
    if (root / "nbgrader_config.py").is_file():
        copy_seed = course_settings(root).check_seed
    if copy_seed is None:
        print(f"no c.Execute.check_seed in {root / 'nbgrader_config.py'}: calibrating on the "
              "public preview copy of the test images, not the one grading will draw")
    targets_path = output or Path(str(TARGETS_FILE))
    targets = json.loads(TARGETS_FILE.read_text())  # fresh: entries are rewritten below
    keys = available_keys()
    missing = [d for d in (datasets or []) if d not in keys and d not in keys.values()]
    if missing:
        print(f"cannot calibrate on {', '.join(missing)}: not available here "
              f"(available: {', '.join(keys) or 'none'}; see `grader data`)")
        return 1
    if datasets:
        keys = {k: v for k, v in keys.items() if k in datasets or v in datasets}
    print(f"calibrating on {', '.join(keys)}: the reference with seeds 0..{seeds - 1}, each "
          f"variant with seeds 0..{variant_seeds - 1}")
    summary, status = [], 0
    for name, entry in targets.items():
        if name.startswith("_") or (only and name not in only):
            continue
        notebook = solution_notebook(root, entry["assignment"])
        test_cell = entry["grade_id"]
        answer_cell = test_cell.removesuffix("_test")
        declared = [(REFERENCE, None, seeds)] + [(v.name, v.source, variant_seeds)
                                                for v in variants_of(name)]
        answers = [a for a in declared if not variants or a[0] in variants]
        rerun = {label for label, _, _ in answers}
        for key, dataset in keys.items():
            # Runs of a variant no longer declared are no evidence for the exercise as it is.
            runs = [r for r in entry["targets"].get(key, {}).get("runs", [])
                    if r.get("variant", REFERENCE) in {a[0] for a in declared} - rerun]
            for label, source, count in answers:
                for seed in range(count):
                    record = calibration_run(notebook, name, entry, dataset, seed, answer_cell,
                                             source, copy_seed)
                    if record is None:
                        return 1
                    record = {"variant": label, **record}
                    runs.append(record)
                    gap = f" (gap {record['gap']:.4f})" if "gap" in record else ""
                    if "baseline_accuracy" in record:
                        gap += f" (baseline {record['baseline_accuracy']:.4f})"
                    gap += (f" (published {record['published_accuracy']:.4f}, probe "
                            f"{record['probe_accuracy']:.4f})")
                    print(f"  {name} {key} {label} seed {seed}: {record['accuracy']:.4f}{gap}  "
                          f"training cell {record['training_cell_seconds']} s, test cell "
                          f"{record['test_cell_seconds']} s, notebook "
                          f"{record['notebook_seconds']} s (slowest: {record['slowest_cell']}, "
                          f"{record['slowest_cell_seconds']} s)", flush=True)
            worst = min(runs, key=lambda r: r["accuracy"])
            target = math.floor((worst["accuracy"] - entry["margin"]) * 1000) / 1000
            labels = sorted({r.get("variant", REFERENCE) for r in runs})
            entry["targets"][key] = {
                "target": target, "status": "calibrated",
                "basis": f"{len(runs)} runs ({', '.join(labels)}), last on "
                         f"{date.today().isoformat()}: worst {worst['accuracy']:.4f} "
                         f"({worst.get('variant', REFERENCE)} seed {worst['seed']}) minus "
                         f"margin {entry['margin']}",
                "runs": runs}
            print(f"{name} {key}: target {target:.3f} (worst {worst['accuracy']:.4f})")
            summary.append((name, key, runs, target))
            worst_gap = max((r["gap"] for r in runs if "gap" in r), default=None)
            if worst_gap is not None and worst_gap > entry["max_gap"]:
                print(f"{name} {key}: an answer the exercise allows over-fits beyond max_gap "
                      f"{entry['max_gap']} (worst gap {worst_gap:.4f}): fix the lesson or the "
                      "variant")
                status = 1
    targets_path.write_text(json.dumps(targets, indent=2) + "\n")
    print()
    print(summary_table(summary))
    print(f"\nwrote {targets_path}")
    return status


def calibration_run(notebook: Path, name: str, entry: dict, dataset: str, seed: int,
                    answer_cell: str, source: str | None,
                    copy_seed: int | None = None) -> dict | None:
    """One run of the solution notebook (with ``source`` as the answer, if given), its saved
    model evaluated out of process as grading does; None, with the reason printed, if it failed."""
    test_cell = entry["grade_id"]
    with scratch_copy(notebook) as workdir:
        run = run_notebook(notebook, workdir, seed, dataset,
                           answers={answer_cell: source} if source else None)
        model = workdir / GRADED_MODELS_DIR / f"{name}.keras"
        # The model's own test cell checks it against the target being set here (missing, or
        # from older runs): its verdict is what this run replaces.
        errors = [e for e in run.errors if not e.startswith(f"{test_cell}: ")]
        if errors or not model.exists():
            print(f"  {name} {dataset} seed {seed}: the notebook failed: "
                  + ("; ".join(errors) or "it saved no model"), flush=True)
            return None
        evaluation = evaluate_as_registered(model, entry, dataset, copy_seed, on_copy=True)
        record = {"seed": seed, "accuracy": round(evaluation.accuracy, 4),
                  "published_accuracy": round(evaluation.published_accuracy, 4),
                  "probe_accuracy": round(evaluation.probe_accuracy, 4)}
        # A model the notebook trains for contrast (the same one without augmentation, say),
        # scored on the same images: the evidence of the gap.
        if entry.get("baseline_model"):
            baseline = workdir / GRADED_MODELS_DIR / f"{entry['baseline_model']}.keras"
            record["baseline_accuracy"] = round(evaluate_saved_model(
                baseline, dataset, variant=entry.get("test_variant"),
                copy_seed=copy_seed).accuracy, 4)
    if evaluation.gap is not None:
        record["train_accuracy"] = round(evaluation.train_accuracy, 4)
        record["gap"] = round(evaluation.gap, 4)
    record.update({
        "notebook_seconds": run.seconds,
        "training_cell_seconds": round(run.cell(answer_cell), 1),
        "test_cell_seconds": round(run.cell(test_cell), 1),
        "slowest_cell": run.slowest.label,
        "slowest_cell_seconds": round(run.slowest.seconds, 1)})
    return record


def summary_table(summary: list) -> str:
    """One row per model and dataset: the spread of accuracies, the target, the worst train-test
    gap and the best baseline model (where the entry has them), the training cell's times."""
    from statistics import median

    lines = [f"{'model':16} {'dataset':13} {'answer':25} {'runs':>4} {'worst':>7} {'median':>7} "
             f"{'best':>7} {'target':>7} {'worst gap':>9} {'baseline best':>13} "
             f"{'training cell s':>16}"]
    for name, key, runs, target, label in _by_answer(summary):
        accuracies = [r["accuracy"] for r in runs]
        gaps = [r["gap"] for r in runs if "gap" in r]
        baselines = [r["baseline_accuracy"] for r in runs if "baseline_accuracy" in r]
        seconds = [r["training_cell_seconds"] for r in runs]
        lines.append(f"{name:16} {key:13} {label:25} {len(runs):>4} {min(accuracies):>7.4f} "
                     f"{median(accuracies):>7.4f} {max(accuracies):>7.4f} {target:>7.3f} "
                     f"{(f'{max(gaps):.4f}' if gaps else '-'):>9} "
                     f"{(f'{max(baselines):.4f}' if baselines else '-'):>13} "
                     f"{f'{median(seconds):.1f} (max {max(seconds):.1f})':>16}")
    return "\n".join(lines)


def _by_answer(summary: list):
    """The summary's rows split by the answer (reference or variant) each run trained."""
    for name, key, runs, target in summary:
        from ..variants import REFERENCE

        labels = dict.fromkeys(r.get("variant", REFERENCE) for r in runs)
        for label in labels:
            yield (name, key, [r for r in runs if r.get("variant", REFERENCE) == label],
                   target, label)
