"""Training-step time of the default search space's model: reference path and fast training path.

One training step = zero_grad, forward, cross-entropy, backward, SGD (momentum 0.9) step, on
random data, 1 thread. The model defaults to the default space's proxy: Oct-ResNet-20 layout,
width_mult 0.5 (widths 8/16/32), 28x28 inputs, 1 channel, 10 classes. For each uniform alpha, in
ONE run with the cases interleaved: median ms per step of

- ``reference``: the model as built (NCHW, eager; what a trial runs without the fast path);
- ``fast``: ``octsearch.prepare_for_training(model)`` (same parameters, merged low-output
  convolution; the layout ``"auto"`` measures and picks at the first step, column ``auto picks``);
- ``reference+cl`` (with ``--cl-reference``): the reference model in channels-last memory only;
- ``fast-cl`` (with ``--channels-last-path``): ``prepare_for_training(model, layout="channels_last")``;
- ``fast-bl`` (with ``--batch-last-path``): ``prepare_for_training(model, layout="batch_last")``;

the speed-up over alpha 0 through the same path, over the reference at alpha 0, over the
reference at the same alpha (wall clock, and CPU time of the timing thread: steadier where other
processes share the cores), the layout ``auto`` picked, and the FLOP
ratio (``flops_paper`` of alpha 0 over alpha: forward multiply-adds of convolutions and fully
connected layers).

    python bench/train_step.py                 # batch 128, alphas 0/.25/.5/.75 (about 2 min)
    python bench/train_step.py --batch 64 --quick
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

from _common import command_line, interleaved, machine, reexec_with_fixed_env, table


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="oct_resnet20")
    p.add_argument("--width-mult", type=float, default=0.5)
    p.add_argument("--input-size", type=int, default=28)
    p.add_argument("--in-chans", type=int, default=1)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--batch", default="128", help="comma-separated batch sizes (default 128)")
    p.add_argument("--alphas", default="0,0.25,0.5,0.75", help="comma-separated uniform alphas")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 10, 4 with --quick)")
    p.add_argument("--quick", action="store_true", help="fewer rounds")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cl-reference", action="store_true", help="also time the reference in channels-last memory")
    p.add_argument("--channels-last-path", action="store_true",
                   help="also time the fast path's channels-last layout (oneDNN kernels)")
    p.add_argument("--batch-last-path", action="store_true",
                   help="also time the fast path's batch-last layout (the C kernels; needs a C compiler)")
    args = p.parse_args(argv)
    args.batch = [int(b) for b in args.batch.split(",")]
    args.alphas = [float(a) for a in args.alphas.split(",")]
    if 0.0 not in args.alphas:
        p.error("--alphas must include 0 (the baseline)")
    args.rounds = args.rounds or (4 if args.quick else 10)
    return args


def main(argv: list[str]) -> int:
    reexec_with_fixed_env()
    args = parse_args(argv)
    import torch
    import torch.nn.functional as F

    import octsearch
    from octsearch.fast import prepare_for_training

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    print(f"command: {command_line()}")
    print(f"machine: {machine()}")
    model_args = dict(width_mult=args.width_mult, input_size=args.input_size, in_chans=args.in_chans,
                      num_classes=args.num_classes)
    print(f"model: {args.model} {model_args}")
    from octsearch.fast import native
    from octsearch.fast.autolayout import layout_of

    kernels = f"C kernels built, {native.lanes()} lanes" if native.available() else "no C kernels"
    print(f"fast path layout (auto): measured per shape at the first step, column 'auto picks' ({kernels})")
    if args.batch_last_path and not native.available():
        print("--batch-last-path: the C kernels do not build here", file=sys.stderr)
        return 1
    paths = (["reference"] + (["reference+cl"] if args.cl_reference else []) + ["fast"]
             + (["fast-cl"] if args.channels_last_path else []) + (["fast-bl"] if args.batch_last_path else []))
    flops, nets = {}, {}
    for alpha in args.alphas:
        torch.manual_seed(0)
        base = octsearch.create_model(args.model, alpha, **model_args)
        flops[alpha] = octsearch.count_flops(base, args.input_size).flops_paper
        for path in paths:
            model = copy.deepcopy(base).train()
            if path == "reference+cl":
                model = model.to(memory_format=torch.channels_last)
            if path == "fast":
                run = prepare_for_training(model)
            elif path == "fast-cl":
                run = prepare_for_training(model, layout="channels_last")
            elif path == "fast-bl":
                run = prepare_for_training(model, layout="batch_last")
            else:
                run = model
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            nets[(path, alpha)] = (run, opt)
    for batch in args.batch:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(batch, args.in_chans, args.input_size, args.input_size, generator=gen)
        y = torch.randint(0, args.num_classes, (batch,), generator=gen)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        cases = {}
        for (path, alpha), (run, opt) in nets.items():
            xin = x_cl if path == "reference+cl" else x

            def step(run=run, opt=opt, xin=xin, y=y) -> None:
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(run(xin), y).backward()
                opt.step()

            cases[f"{path} {alpha}"] = step
            if path == "fast":
                step()  # auto measures at its first training step: decided before the timing
        res = interleaved(cases, rounds=args.rounds, inner=3)
        headers = ["alpha", "GFLOPs", "FLOP ratio"]
        for p in paths:
            headers += [f"{p} ms (IQR)", f"{p} x a0"]
        headers += ["fast x ref a0", "fast x ref", "fast x ref CPU", "auto picks"]
        rows = []
        ref0 = res["reference 0.0"].median_ms
        for alpha in args.alphas:
            row = [f"{alpha:g}", f"{flops[alpha] / 1e9:.4f}", f"{flops[0.0] / flops[alpha]:.2f}x"]
            for p in paths:
                t, t0 = res[f"{p} {alpha}"], res[f"{p} 0.0"]
                row += [f"{t.median_ms:.1f} ({t.iqr_ms:.1f})", f"{t0.median_ms / t.median_ms:.2f}x"]
            fast = res[f"fast {alpha}"].median_ms
            cpu_ratio = res[f"reference {alpha}"].cpu_median_ms / res[f"fast {alpha}"].cpu_median_ms
            row += [f"{ref0 / fast:.2f}x", f"{res[f'reference {alpha}'].median_ms / fast:.2f}x",
                    f"{cpu_ratio:.2f}x", layout_of(nets[("fast", alpha)][0])]
            rows.append(row)
        calls = res["fast 0.0"].calls
        print(f"\nbatch {batch}: median wall-clock ms per training step over {calls} interleaved steps "
              f"({args.threads} thread(s)); GFLOPs: forward multiply-adds per sample, paper convention")
        print(table(headers, rows))
        cpu = ", ".join(f"{p} {a:g} {res[f'{p} {a}'].cpu_median_ms:.1f}" for p in paths for a in args.alphas)
        print(f"  CPU-time medians (ms): {cpu}")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; reproduce with: {command_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
