"""Pure-read floor for the M = 1 GEMV benchmark (bench/read_floor.cu).

Times kernels that only read the int4 g128 weight bytes of each benchmark
shape (16-byte loads, no arithmetic to speak of) in linear_bench's harness:
event timing of 20 queued calls and, with graph timing on, CUDA-graph
replay; rotated over >= 256 MB like the weights. No kernel that must read
those bytes can be faster, so the gap between these and the GEMV is the
GEMV's own cost, and the gap between these and the copy bandwidth is the
fixed cost of any kernel of that size.
"""
import math

import numpy as np
import torch

from gemv_bench import L2_ROTATION_BYTES, cupy, log, time_into

INT4_SHAPES = [(4096, 4096), (11008, 4096), (8192, 8192)]  # 4096x11008: same bytes as 11008x4096


def int4_g128_bytes(n, k):
    return n * k // 2 + n * (k // 128) * 2


def launch_configs(chunks, sms):
    """(label, kernel, grid, block): one resident wave of big blocks with many
    loads in flight per thread, and many small blocks (1 or 4 chunks each)."""
    return [
        (f"u8 grid{sms}x1024", "read_floor_u8", sms, 1024),
        (f"u4 grid{2 * sms}x512", "read_floor_u4", 2 * sms, 512),
        ("u4 4 chunks/thread x256", "read_floor_u4", math.ceil(chunks / (4 * 256)), 256),
        ("u1 1 chunk/thread x256", "read_floor_u1", math.ceil(chunks / 256), 256),
    ]


def measure_read_floor(cubin, copy_gbs):
    module = cupy.RawModule(path=cubin)
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    sink = torch.zeros(4, dtype=torch.int32, device="cuda")
    rows = []
    for n, k in INT4_SHAPES:
        nbytes = int4_g128_bytes(n, k)
        chunks = nbytes // 16
        nbuf = max(2, math.ceil(L2_ROTATION_BYTES / nbytes))
        bufs = [torch.empty(chunks * 16, dtype=torch.uint8, device="cuda").random_(0, 255)
                for _ in range(nbuf)]
        for label, kernel, grid, block in launch_configs(chunks, sms):
            fn_ = module.get_function(kernel)
            args = [(np.uint64(b.data_ptr()), np.int64(chunks), np.uint64(sink.data_ptr()))
                    for b in bufs]
            row = {"name": label, "shape": f"{n}x{k}", "bytes": chunks * 16,
                   "grid": grid, "block": block}
            time_into(row, "median_us", lambda i: fn_((grid,), (block,), args[i]), nbuf)
            gbs = row["bytes"] / (row["median_us"] * 1e-6) / 1e9
            row["frac_of_copy_bw"] = gbs / copy_gbs
            if "median_graph_us" in row:
                row["graph_frac_of_copy_bw"] = (
                    row["bytes"] / (row["median_graph_us"] * 1e-6) / 1e9 / copy_gbs)
            log(f"read floor {n}x{k} int4 bytes ({row['bytes'] / 1e6:.2f} MB) {label}: "
                f"{row['median_us']:.2f} us ({row['frac_of_copy_bw']:.0%} of copy)"
                + (f", graph {row['median_graph_us']:.2f} us "
                   f"({row['graph_frac_of_copy_bw']:.0%})" if "median_graph_us" in row else ""))
            rows.append(row)
        del bufs
        torch.cuda.empty_cache()
    return rows
