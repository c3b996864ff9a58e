"""CPU inference latency of the Oct families at uniform alpha: reference (eager) and fast path.

For each family and setting (threads, batch) and each uniform alpha, in ONE run with the cases
interleaved: the median latency per forward call (ms, wall clock) of

- ``reference``: the model as built, eval mode, NCHW, eager PyTorch (the issue-2 baseline);
- ``fast``: ``octsearch.optimize_for_inference(model)`` (batch norm folded, restructured OctConv,
  oneDNN with packed weights and fused post-ops, channels-last; eager);
- ``compiled`` (with ``--compile``): the same through ``torch.compile`` (inductor, freezing; with
  ``--cpp-wrapper`` its C++ wrapper, every alpha alike);
- ``onnxruntime`` (with ``--onnxruntime``): the same exported to ONNX and run by ONNX Runtime
  (``optimize_for_inference(model, onnxruntime=True)``; needs ``pip install 'octsearch[onnx]'``);

the speed-up of each path over the alpha-0 network through the same path, the fast path's
speed-up over eager alpha 0, and the FLOP ratio (``flops_paper`` of alpha 0 over alpha; paper
convention: multiply-adds of convolutions and fully connected layers, 1 GFLOP = 1e9 multiply-adds).

    python bench/latency.py                   # all families (about 5 min on one core)
    python bench/latency.py --quick           # fewer calls, alphas 0/.25/.5/.75 (under 2 min)
    python bench/latency.py --families oct_resnet50 --compile
    python bench/latency.py --families oct_resnet50 --compile --cpp-wrapper --no-batch32
    python bench/latency.py --families oct_resnet50 --onnxruntime --no-batch32 --rounds 60
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

from _common import command_line, interleaved, machine, reexec_with_fixed_env, table

# family -> (input side, extra model arguments, batch sizes to measure)
FAMILIES = {
    "oct_resnet20": (32, {"num_classes": 10}, (1, 32)),
    "oct_resnet50": (224, {}, (1,)),
    "oct_mobilenetv2": (224, {}, (1,)),
}
ALPHAS = (0.0, 0.125, 0.25, 0.5, 0.75)
QUICK_ALPHAS = (0.0, 0.25, 0.5, 0.75)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--families", default=",".join(FAMILIES),
                   help=f"comma-separated subset of {', '.join(FAMILIES)}")
    p.add_argument("--alphas", default=None, help="comma-separated uniform alphas (default 0,.125,.25,.5,.75)")
    p.add_argument("--quick", action="store_true", help="fewer timed calls and alphas 0/.25/.5/.75")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 30, 8 with --quick)")
    p.add_argument("--compile", action="store_true",
                   help="also time the torch.compile'd fast path (10-60 s of compilation per model)")
    p.add_argument("--cpp-wrapper", action="store_true",
                   help="compile with inductor's C++ wrapper too (no Python between kernels; about 10 s more per model)")
    p.add_argument("--onnxruntime", action="store_true",
                   help="also time the fast path exported to ONNX Runtime (a few seconds of export per model)")
    p.add_argument("--no-batch32", action="store_true", help="batch 1 only")
    args = p.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        p.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    alphas = QUICK_ALPHAS if args.quick else ALPHAS
    args.alphas = tuple(float(a) for a in args.alphas.split(",")) if args.alphas else alphas
    if 0.0 not in args.alphas:
        p.error("--alphas must include 0 (the baseline)")
    args.rounds = args.rounds or (8 if args.quick else 30)
    return args


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def bench_family(family: str, args: argparse.Namespace) -> None:
    import torch

    import octsearch
    from octsearch.fast import optimize_for_inference

    side, model_args, batches = FAMILIES[family]
    if args.no_batch32:
        batches = (1,)
    models, fast, flops = {}, {}, {}
    # further paths: name -> alpha -> model; each prepares itself on its first call per input shape
    extra: dict[str, dict[float, object]] = {p: {} for p, on in (("compiled", args.compile),
                                                                 ("onnxruntime", args.onnxruntime)) if on}
    t_build = time.perf_counter()
    for alpha in args.alphas:
        torch.manual_seed(0)
        model = octsearch.create_model(family, alpha, input_size=side, **model_args).eval()
        flops[alpha] = octsearch.count_flops(model, side).flops_paper
        models[alpha] = model
        fast[alpha] = optimize_for_inference(model)
        if args.compile:
            extra["compiled"][alpha] = optimize_for_inference(copy.deepcopy(model), compile=True,
                                                              cpp_wrapper=args.cpp_wrapper)
        if args.onnxruntime:
            extra["onnxruntime"][alpha] = optimize_for_inference(model, onnxruntime=True)
    print(f"  (built {len(args.alphas)} models and their fast paths in {time.perf_counter() - t_build:.0f} s)")
    in_chans = int(models[0.0].model_args["in_chans"])
    for batch in batches:
        x = torch.randn(batch, in_chans, side, side)
        cases = {}
        for alpha in args.alphas:
            ref = models[alpha]

            def run_ref(m=ref, x=x) -> None:
                with torch.no_grad():
                    m(x)

            cases[f"reference {alpha}"] = run_ref
            cases[f"fast {alpha}"] = (lambda m=fast[alpha], x=x: m(x))
            for path, nets in extra.items():
                t0 = time.perf_counter()
                nets[alpha](x)  # compiles / exports for this shape
                print(f"  ({path}: prepared alpha {alpha}, batch {batch} in {time.perf_counter() - t0:.0f} s)")
                cases[f"{path} {alpha}"] = (lambda m=nets[alpha], x=x: m(x))
        # Fewer calls per round for the slow settings keep each run near the same duration.
        inner = 1 if (side >= 224 or batch > 1) else 5
        res = interleaved(cases, rounds=args.rounds, inner=inner)
        paths = ["reference", "fast", *extra]
        headers = ["alpha", "GFLOPs", "FLOP ratio"]
        for p in paths:
            headers += [f"{p} ms (IQR)", f"{p} x a0"]
        headers += [f"{p} x eager a0" for p in paths[1:]]
        rows = []
        for alpha in args.alphas:
            row = [f"{alpha:g}", f"{flops[alpha] / 1e9:.3f}", _ratio(flops[0.0], flops[alpha])]
            for p in paths:
                t, t0 = res[f"{p} {alpha}"], res[f"{p} 0.0"]
                row += [f"{t.median_ms:.2f} ({t.iqr_ms:.2f})", _ratio(t0.median_ms, t.median_ms)]
            ref0 = res["reference 0.0"].median_ms
            row += [_ratio(ref0, res[f"{p} {alpha}"].median_ms) for p in paths[1:]]
            rows.append(row)
        calls = res[f"fast {args.alphas[0]}"].calls
        print(f"\n{family} @ {side}x{side}, batch {batch}, {args.threads} thread(s): "
              f"median wall-clock ms per forward over {calls} interleaved calls")
        print(table(headers, rows))
        cpu = ", ".join(f"{p} a0 {res[f'{p} 0.0'].cpu_median_ms:.2f} / a.5 "
                        f"{res.get(f'{p} 0.5', res[f'{p} 0.0']).cpu_median_ms:.2f}" for p in paths)
        print(f"  CPU-time medians (ms): {cpu}")


def main(argv: list[str]) -> int:
    reexec_with_fixed_env()
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    print(f"command: {command_line()}")
    print(f"machine: {machine()}")
    print("GFLOPs: paper convention (multiply-adds of convolutions and fully connected layers, "
          "batch 1); 'x a0': speed-up over the alpha-0 network through the same path.")
    for family in args.families:
        print(f"\n== {family}")
        bench_family(family, args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; reproduce with: {command_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
