"""Peak memory and speed of one ONNX Runtime call at a given shape, in a fresh process (what the server's
`bounded_calls` trades): python3 bench/call_memory.py MODEL.onnx ROWS [LENGTH]  (prints one line).

The session is set up as the server's (CPU memory arena on, all cores); two calls of ROWS x LENGTH tokens."""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
import onnxruntime as ort

model, rows = sys.argv[1], int(sys.argv[2])
length = int(sys.argv[3]) if len(sys.argv) > 3 else 512
options = ort.SessionOptions()
options.intra_op_num_threads = os.cpu_count() or 1
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
inputs = {
    "input_ids": np.full((rows, length), 5, np.int64),
    "attention_mask": np.ones((rows, length), np.int64),
    "token_type_ids": np.zeros((rows, length), np.int64),
}
feed = {i.name: inputs[i.name] for i in session.get_inputs()}
start = time.perf_counter()
for _ in range(2):
    session.run(None, feed)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{rows} rows x {length}: peak {peak:,.0f} MB, {2 * rows / seconds:.2f} rows/s")
