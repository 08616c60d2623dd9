"""The kit's own training progress: one bar over optimizer steps (with the latest loss), a bar while
evaluating, and one line per evaluation, in place of the Trainer's raw log dicts. The Trainer's logs
still reach `--report-to` and run.json; only what the terminal shows changes."""

from __future__ import annotations

import sys


def training_progress():
    """A TrainerCallback (built lazily: transformers is heavy) that draws the bars on the main process only."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class TrainingProgress(TrainerCallback):
        def __init__(self):
            self.steps = None
            self.evaluating = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.steps = tqdm(total=state.max_steps, initial=state.global_step, desc="training", unit="step")

        def on_step_end(self, args, state, control, **kwargs):
            if self.steps is not None:
                self.steps.update(state.global_step - self.steps.n)

        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
            if not state.is_world_process_zero:
                return
            if self.evaluating is None:
                total = len(eval_dataloader) if eval_dataloader is not None else None
                self.evaluating = tqdm(total=total, desc="evaluating", unit="batch", leave=False)
            self.evaluating.update(1)

        def _end_evaluation(self):
            if self.evaluating is not None:
                self.evaluating.close()
                self.evaluating = None

        def on_evaluate(self, args, state, control, **kwargs):
            self._end_evaluation()

        def on_predict(self, args, state, control, **kwargs):
            self._end_evaluation()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.steps is None or not logs:
                return
            if "loss" in logs:
                self.steps.set_postfix(loss=f"{logs['loss']:.4f}")
            if "eval_accuracy" in logs:
                self.steps.write(
                    f"epoch {state.epoch:.2f}, step {state.global_step}: validation accuracy "
                    f"{logs['eval_accuracy']:.4f}, macro F1 {logs['eval_macro_f1']:.4f}, loss {logs['eval_loss']:.4f}",
                    file=sys.stderr,
                )

        def on_train_end(self, args, state, control, **kwargs):
            if self.steps is not None:
                self.steps.close()
                self.steps = None

    return TrainingProgress()
