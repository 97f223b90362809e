"""Resumable fine-tuning: a run killed mid-way and resumed takes exactly the steps, schedule and
data order of one that never stopped, and ends with the same weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from civility.engine.training import resumable

torch = pytest.importorskip("torch", reason="the train extra (make test installs it)")

STEPS = 24
RUN = ["--steps", str(STEPS), "--layers", "2", "--frozen-layers", "1", "--batch-size", "4"]


def test_the_plan_resumed_at_any_step_is_the_rest_of_the_whole_plan():
    rng = np.random.default_rng(0)
    weights = rng.random(300)
    weights /= weights.sum()
    lengths = rng.integers(3, 128, 300)
    whole = list(resumable.batch_plan(weights, lengths, 100, 8, seed=7))
    assert [step for step, _ in whole] == list(range(1, 101))
    for start in (1, 2, 32, 33, 64, 77, 100):
        rest = list(resumable.batch_plan(weights, lengths, 100, 8, seed=7, start_step=start))
        assert [s for s, _ in rest] == list(range(start, 101))
        for (s1, rows1), (s2, rows2) in zip(whole[start - 1 :], rest, strict=True):
            assert s1 == s2 and np.array_equal(rows1, rows2)
    other_seed = list(resumable.batch_plan(weights, lengths, 100, 8, seed=8))
    assert not np.array_equal(whole[0][1], other_seed[0][1])


def test_batches_are_length_sorted_within_a_pool():
    weights = np.full(1000, 1 / 1000)
    lengths = np.arange(1000)
    spreads = [
        np.ptp(lengths[rows]) for _, rows in resumable.batch_plan(weights, lengths, 32, 16, 1)
    ]
    assert np.median(spreads) < 100  # unsorted batches of 16 from 0..999 spread ~900


def test_schedule_warms_up_then_decays_to_zero():
    scales = [resumable.lr_scale(step, 200) for step in range(1, 201)]
    assert scales[0] == 0.0
    assert max(scales) == pytest.approx(1.0)
    assert int(np.argmax(scales)) == 10  # 5% of 200 steps
    assert scales[-1] == pytest.approx(1 / 190)
    assert all(a >= b for a, b in zip(scales[10:], scales[11:], strict=False))


def test_state_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVILITY_TRAIN_STATE", str(tmp_path / "s"))
    assert resumable.default_state_dir() == tmp_path / "s"
    monkeypatch.delenv("CIVILITY_TRAIN_STATE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resumable.default_state_dir() == tmp_path / "cache" / "civility" / "train-state"


def test_layer_cache_keeps_complete_chunks_only(tmp_path):
    cache = resumable.LayerCache(tmp_path)
    a, b = np.ones((3, 4), np.float32), np.full((5, 4), 2.0, np.float32)
    cache.add_chunk(["a", "b"], [a, b])
    # A chunk whose index was never written (the build was killed) does not count.
    np.save(tmp_path / "chunk-00001.npy", np.zeros((2, 4), np.float16))
    reopened = resumable.LayerCache(tmp_path)
    assert reopened.missing(["a", "b", "c"]) == [2]
    assert np.array_equal(reopened.get("b"), b.astype(np.float16))


def tiny_rows(path: Path) -> Path:
    rng = np.random.default_rng(3)
    words = "budget minister road school oil salary river market report office".split()
    with path.open("w", encoding="utf-8") as f:
        for i in range(64):
            text = " ".join(rng.choice(words, rng.integers(3, 14))) + f" {i}"
            labels = {"overall": i % 2, "threat": i % 2 if i % 4 == 0 else -1}
            f.write(
                json.dumps({"text": text, "language": "en", "source": "olid", "labels": labels})
            )
            f.write("\n")
    return path


def train_command(rows: Path, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "civility.engine.training.encoder",
        "--rows",
        str(rows),
        "--state",
        str(state),
        *RUN,
        *extra,
    ]


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def trained(state: Path) -> dict:
    return torch.load(state / "checkpoint.pt", map_location="cpu", weights_only=False)


def wait_for_steps(state: Path, steps: int, process: subprocess.Popen, limit: float = 120):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if len(resumable.read_trace(state)) >= steps:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach step {steps}")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    rows = tiny_rows(folder / "rows.jsonl")
    state = folder / "state"
    done = run(train_command(rows, state))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"step": STEPS, "planned_steps": STEPS, "finished": True}
    return rows, state


def test_a_killed_run_resumes_to_the_same_steps_schedule_and_weights(uninterrupted, tmp_path):
    rows, reference = uninterrupted
    state = tmp_path / "state"
    # Checkpoint after every step, then SIGKILL mid-way: no chance to save anything more.
    process = subprocess.Popen(
        train_command(rows, state, "--checkpoint-minutes", "0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_steps(state, 10, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stopped_at = trained(state)["step"]
    assert 0 < stopped_at < STEPS

    # Without --resume the run is not overwritten.
    refused = run(train_command(rows, state))
    assert refused.returncode == 2
    assert f"holds a run at step {stopped_at} of {STEPS}" in refused.stderr

    resumed = run(train_command(rows, state, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming the run in {state} at step {stopped_at}" in resumed.stderr
    assert json.loads(resumed.stdout)["step"] == STEPS

    expected, got = resumable.read_trace(reference), resumable.read_trace(state)
    assert sorted(got) == list(range(1, STEPS + 1))
    assert got == expected  # every step's learning-rate scale and rows
    mine, theirs = trained(state), trained(reference)
    assert mine["step"] == theirs["step"] == STEPS
    for name, tensor in theirs["trainable"].items():
        assert torch.equal(mine["trainable"][name], tensor), name


def test_sigterm_checkpoints_before_stopping(uninterrupted, tmp_path):
    rows, reference = uninterrupted
    state = tmp_path / "state"
    process = subprocess.Popen(
        train_command(rows, state, "--checkpoint-minutes", "60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_steps(state, 6, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    result = json.loads(out)
    assert result["finished"] is False
    assert f"stopped at step {result['step']} of {STEPS}" in err
    assert trained(state)["step"] == result["step"]
    resumed = run(train_command(rows, state, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert resumable.read_trace(state) == resumable.read_trace(reference)


def test_resume_without_state_starts_afresh_and_says_so(uninterrupted, tmp_path):
    rows, _ = uninterrupted
    state = tmp_path / "nothing-here"
    done = run(train_command(rows, state, "--resume", "--steps", "3"))
    assert done.returncode == 0, done.stderr
    assert f"no training state in {state}: starting a new run" in done.stderr


def test_resume_refuses_a_run_with_other_settings(uninterrupted, tmp_path):
    rows, reference = uninterrupted
    state = tmp_path / "state"
    assert run(train_command(rows, state, "--steps", "4")).returncode == 0
    # Finished at 4 of 4; the same folder asked to continue a 24-step run refuses.
    refused = run(train_command(rows, state, "--resume"))
    assert refused.returncode == 2
    assert "planned_steps: 4 in the state, 24 now" in refused.stderr


def test_upper_layers_on_cached_outputs_match_the_whole_model():
    from civility.engine.encoder import pad_batch
    from civility.engine.training.e5_weights import to_bert
    from civility.engine.training.encoder import (
        EncoderClassifier,
        forward_upper,
        load_tokenizer,
        prepare_text,
    )

    model = EncoderClassifier.build(3, 7).eval()
    tokenizer = load_tokenizer()
    texts = ["short one", "a longer comment about the oil budget and the salaries of teachers"]
    ids, mask = pad_batch([e.ids for e in tokenizer.encode_batch([prepare_text(t) for t in texts])])
    ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    with torch.no_grad():
        whole = model(ids, mask)
        lower = to_bert(layers=1).eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        upper = forward_upper(model, lower, mask, 1)
    assert torch.allclose(whole, upper, atol=1e-5)


def test_a_student_learns_the_teachers_scores(uninterrupted, tmp_path):
    from civility.engine.encoder import pad_batch
    from civility.engine.training import distil
    from civility.engine.training.encoder import (
        EncoderClassifier,
        load_tokenizer,
        prepare_text,
        rows_from_jsonl,
        write_checkpoint,
    )

    rows_file, teacher = uninterrupted
    rows = rows_from_jsonl(rows_file)
    student = tmp_path / "student"
    with pytest.raises(ValueError, match="fewer layers"):
        distil.distil(rows, teacher, student, layers=2, steps=2)
    result = distil.distil(rows, teacher, student, layers=1, frozen_layers=0, steps=40, log=str)
    assert result == {"step": 40, "planned_steps": 40, "finished": True}
    soft = np.load(student / "teacher_logits.npy")
    assert soft.shape == (len(rows), 7)
    # The teacher's logits are computed once for its step and rows, then read back.
    assert np.array_equal(distil.teacher_logits(teacher, rows, student, log=str), soft)

    tokenizer = load_tokenizer()
    ids, mask = pad_batch(
        [e.ids for e in tokenizer.encode_batch([prepare_text(r.text) for r in rows])]
    )
    ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    target = torch.sigmoid(torch.from_numpy(soft))

    def distance(model) -> float:
        """KL divergence from the teacher's probabilities, summed over heads, mean over rows."""
        with torch.no_grad():
            out = model.eval()(ids, mask)
        cross = torch.nn.functional.binary_cross_entropy_with_logits(out, target, reduction="none")
        entropy = torch.nn.functional.binary_cross_entropy(target, target, reduction="none")
        return float((cross - entropy).sum(1).mean())

    untrained = EncoderClassifier.build(1, 7)
    write_checkpoint(student, tmp_path / "exported")
    trained_student = EncoderClassifier.build(1, 7)
    trained_student.load_state_dict(torch.load(tmp_path / "exported" / "encoder.pt"), strict=False)
    # Measured: 0.040 against 0.061 for the same student untrained (40 steps, warm-up included).
    assert distance(trained_student) < 0.8 * distance(untrained)


def test_a_student_can_learn_from_the_shipped_tier_when_the_teachers_state_is_gone(
    uninterrupted, tmp_path
):
    """The teacher's training state is not always kept between sittings; the exported int8 tier
    is. Its logits, read as training reads a row (the first window), are the soft targets."""
    from civility.engine.encoder import SHIPPED_ENCODER, EncoderScorer
    from civility.engine.training import distil
    from civility.engine.training.encoder import rows_from_jsonl

    rows = rows_from_jsonl(uninterrupted[0])
    assert distil.is_exported(SHIPPED_ENCODER)
    assert not distil.is_exported(uninterrupted[1])
    student = tmp_path / "student"
    with pytest.raises(ValueError, match="fewer layers"):
        distil.distil(rows, SHIPPED_ENCODER, student, layers=12, steps=2, log=str)
    result = distil.distil(
        rows, SHIPPED_ENCODER, student, layers=1, frozen_layers=0, steps=2, log=str
    )
    assert result["finished"]
    soft = np.load(student / "teacher_logits.npy")
    # Short rows fit one window, so the soft targets are the shipped scorer's own logits.
    short = [i for i, r in enumerate(rows) if len(r.text) < 200]
    assert short
    expected = EncoderScorer(SHIPPED_ENCODER).logits([rows[i].text for i in short])
    assert np.array_equal(soft[short], expected)
    stamp = json.loads((student / "teacher_logits.json").read_text())
    assert stamp["teacher_export"] == EncoderScorer(SHIPPED_ENCODER).version
    # Read back, not recomputed, for the same teacher and rows.
    assert np.array_equal(distil.exported_teacher_logits(SHIPPED_ENCODER, rows, student), soft)
