#!/usr/bin/env python3
"""bench/report.py — turns one scripts/bench run (its results.jsonl) into the
Markdown table and PNG plot under bench/results/: latest.md, latest.png,
latest.jsonl and a dated copy of the table. Ratios are computed only between
figures of the same run. Run by scripts/bench; no state of its own."""
import argparse
import datetime
import json
import os
import shutil

TARGETS = {"established-64": 0.9, "syn-64": 0.7}
SCENARIOS = {
    "established-64": "TCP established, 64 B",
    "syn-64": "TCP SYN only, 64 B",
    "established-1518": "TCP established, 1518 B",
    "latency-64": "TCP established, 64 B, half rate",
    "xdp-64": "TCP established, 64 B",
}
BALANCERS = ["direct", "weir-dpdk", "weir-xdp", "nftables", "haproxy", "nginx-stream"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pkt(rows, scenario, dut):
    """The median run (by forwarded rate) of a device in a scenario."""
    runs = sorted((r for r in rows if r.get("part") == "packet" and r.get("scenario") == scenario
                   and r.get("dut") == dut), key=lambda r: r.get("forwarded_mpps", 0))
    return runs[(len(runs) - 1) // 2] if runs else None


def spread(rows, scenario, dut):
    v = [r["forwarded_mpps"] for r in rows if r.get("part") == "packet" and r.get("scenario") == scenario
         and r.get("dut") == dut and "forwarded_mpps" in r]
    return f"{min(v):.2f}–{max(v):.2f}" if len(v) > 1 else ""


def varied(rows, scenario, dut):
    """Fastest over slowest run of a device in a scenario (1.0 for one run)."""
    v = [r["forwarded_mpps"] for r in rows if r.get("part") == "packet" and r.get("scenario") == scenario
         and r.get("dut") == dut and r.get("forwarded_mpps")]
    return max(v) / min(v) if len(v) > 1 else 1.0


# Runs of one device further apart than this mean the host was busy with
# something else: the verdict says so rather than pass as a clean result.
NOISY = 1.15


def checks(r):
    bad = sum(r.get("invalid", {}).values()) - r.get("invalid", {}).get("not_ours", 0)
    parts = [f"{bad} bad"]
    if r.get("traffic") != "syn":  # SYN-only flows are never repeated: nothing to stick
        parts.append(f"{r.get('flows_moved', 0)} moved")
    if r.get("backends"):
        parts.append(f"shares ±{100 * r.get('max_share_deviation', 0):.1f} pt")
    return ", ".join(parts)


def weir_drops(rows, scenario):
    """weir's own drop counters summed over the scenario's runs."""
    d = {}
    for r in rows:
        if r.get("part") == "weir_stats" and r.get("scenario") == scenario:
            for k, v in (r.get("drops") or {}).items():
                d[k] = d.get(k, 0) + v
    return ", ".join(f"{k} {v:,}" for k, v in sorted(d.items())) or "none"


def mpps(rows, r, scenario):
    s = spread(rows, scenario, r["dut"])
    return f"{r['forwarded_mpps']:.3f}" + (f" ({s})" if s else "")


def lat(r):
    l = r["latency_ns"]
    return f"{l['p50'] / 1000:.1f} / {l['p99'] / 1000:.1f} / {l['p999'] / 1000:.1f}"


def busy(r):
    """weir's worker load at its peak rate (DPDK engine: busy seconds / elapsed)."""
    b, n = r.get("dut_busy"), r.get("dut_burst")
    if not isinstance(b, (int, float)):
        return "—"
    return f"{100 * b:.0f} %" + (f", {n:.1f}/poll" if isinstance(n, (int, float)) else "")


def packet_table(rows, scenarios, ceiling_dut, weir_dut):
    out = []
    for s in scenarios:
        c, w = pkt(rows, s, ceiling_dut), pkt(rows, s, weir_dut)
        if not c:
            continue
        if not w or w.get("unavailable"):
            out.append(f"| {SCENARIOS.get(s, s)} | {c['flows']:,} | {mpps(rows, c, s)} | "
                       "not available in this build | | | | | | | |")
            continue
        ratio = w["forwarded_mpps"] / c["forwarded_mpps"] if c["forwarded_mpps"] else 0
        target = TARGETS.get(s) if ceiling_dut == "ceiling" else None
        verdict = "" if target is None else (f"≥ {target}: **met**" if ratio >= target
                                              else f"≥ {target}: **missed**")
        vary = max(varied(rows, s, ceiling_dut), varied(rows, s, weir_dut))
        if vary > NOISY:
            verdict += f" (runs varied {vary:.2f}×: a busy host, the ratio is uncertain)"
        out.append(f"| {SCENARIOS.get(s, s)} | {w['flows']:,} | {mpps(rows, c, s)} | {mpps(rows, w, s)} | "
                   f"**{ratio:.2f}** | {verdict} | {busy(w)} | {100 * c['loss']:.2f} / {100 * w['loss']:.2f} | "
                   f"{lat(c)} | {lat(w)} | {checks(w)}; weir drops: {weir_drops(rows, s)} |")
    return out


def tcp_rows(rows):
    """Per balancer and test, the median run (by value) over the rounds."""
    runs = {}
    for r in rows:
        if r.get("part") == "tcp":
            runs.setdefault(r["balancer"], {}).setdefault(r.get("test", "unavailable"), []).append(r)
    t = {}
    for b, tests in runs.items():
        for test, rs in tests.items():
            rs.sort(key=lambda r: r.get("value", 0))
            t.setdefault(b, {})[test] = rs[(len(rs) - 1) // 2]
            t[b][test]["range"] = (rs[0].get("value", 0), rs[-1].get("value", 0), len(rs))
    return t


def with_range(r, fmt):
    lo, hi, n = r.get("range", (0, 0, 1))
    return fmt.format(r.get("value", 0)) + (f" ({fmt.format(lo)}–{fmt.format(hi)})" if n > 1 else "")


def cpu_per_conn(t, b):
    """Balancer CPU per new connection, in µs: its processes' user+system time
    plus the softirq time the machine spent beyond what direct-to-backend spent
    for the same number of connections (kernel NAT and XDP run in softirq)."""
    r, d = t.get(b, {}).get("conn_per_s"), t.get("direct", {}).get("conn_per_s")
    if not r or not r.get("requests"):
        return None
    base = d["softirq_s"] / d["requests"] if d and d.get("requests") else 0
    extra = max(0.0, r["softirq_s"] - base * r["requests"])
    return 1e6 * (r["cpu_process_s"] + (0 if b == "direct" else extra)) / r["requests"]


def tcp_table(rows):
    t = tcp_rows(rows)
    direct = t.get("direct", {}).get("conn_per_s", {}).get("value")
    out = []
    for b in BALANCERS:
        if b not in t:
            continue
        if "unavailable" in t[b]:
            out.append(f"| {b} | not available in this build | | | | | |")
            continue
        c, k, i = (t[b].get(x, {}) for x in ("conn_per_s", "req_per_s", "gbit_per_s"))
        cpu = cpu_per_conn(t, b)
        vs = f"{c['value'] / direct:.2f}" if direct and c else ""
        errs = sum(x.get("errors", 0) for x in (c, k, i))
        out.append(f"| {b} | {with_range(c, '{:,.0f}')} | {vs} | {with_range(k, '{:,.0f}')} | "
                   f"{with_range(i, '{:.2f}')} | {'—' if cpu is None or b == 'direct' else f'{cpu:.0f}'} | "
                   f"{c.get('cpu_process_s', 0):.1f} s + {c.get('softirq_s', 0):.1f} s | {errs} |")
    return out


def tcp_verdict(rows):
    t = tcp_rows(rows)
    direct = t.get("direct", {}).get("conn_per_s", {}).get("value")
    peers = {b: t[b]["conn_per_s"]["value"] for b in ("nftables", "haproxy", "nginx-stream")
             if "conn_per_s" in t.get(b, {})}
    cpus = {b: cpu_per_conn(t, b) for b in BALANCERS if b != "direct" and "conn_per_s" in t.get(b, {})}
    out = []
    for w in ("weir-dpdk", "weir-xdp"):
        if "conn_per_s" not in t.get(w, {}):
            continue
        v = t[w]["conn_per_s"]["value"]
        ratio = v / direct if direct else 0
        ahead = all(v > p for p in peers.values())
        lowest = cpus.get(w) is not None and all(cpus[w] <= c for b, c in cpus.items() if c is not None)
        out.append(f"- {w}: connection rate {ratio:.2f} × direct (target ≥ 0.9: "
                   f"{'met' if ratio >= 0.9 else 'missed'}); ahead of nftables, HAProxy and nginx stream: "
                   f"{'yes' if ahead else 'no'}; lowest balancer CPU per connection: {'yes' if lowest else 'no'}")
    return out


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    scen = [s for s in ("established-64", "syn-64", "established-1518") if pkt(rows, s, "ceiling")]
    x = range(len(scen))
    for off, dut, label in ((-0.2, "ceiling", "ceiling (macswap)"), (0.2, "weir", "weir DPDK")):
        vals = [(pkt(rows, s, dut) or {}).get("forwarded_mpps", 0) for s in scen]
        axes[0].bar([i + off for i in x], vals, width=0.4, label=label)
    axes[0].set_xticks(list(x), [SCENARIOS[s].replace("TCP ", "") for s in scen], fontsize=8)
    axes[0].set_ylabel("Mpps forwarded")
    axes[0].set_title("Packets over net_memif, 1 core each")
    axes[0].legend()
    t = tcp_rows(rows)
    bs = [b for b in BALANCERS if "conn_per_s" in t.get(b, {})]
    axes[1].bar(bs, [t[b]["conn_per_s"]["value"] for b in bs], color="tab:green")
    axes[1].set_title("New TCP connections per second")
    axes[1].tick_params(axis="x", labelrotation=30, labelsize=8)
    cpu = [cpu_per_conn(t, b) or 0 for b in bs]
    axes[2].bar(bs, cpu, color="tab:red")
    axes[2].set_title("Balancer CPU per connection (µs)")
    axes[2].tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--note", default="")
    ap.add_argument("--settings", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = load(a.results)
    m = json.loads(a.machine)
    now = datetime.datetime.now(datetime.timezone.utc)
    ceil_name = next((r["dut_name"] for r in rows if r.get("dut") == "ceiling"), "weir_macswap")
    md = [f"# weir benchmarks, {now:%Y-%m-%d %H:%M} UTC", "",
          f"- machine: {m['host']}, {m['cpu']}, {m['cores']} cores, {m['mem_mib']} MiB, kernel {m['kernel']}, "
          f"load average at start {' '.join(m['load'])}",
          f"- weir commit {m['commit']}{' (uncommitted changes)' if m.get('dirty') else ''}, "
          f"DPDK {m['dpdk']}; run took {a.seconds} s; {a.settings}"]
    if a.note:
        md.append(f"- {a.note}")
    md += ["- method: docs/benchmarks.md. Ratios compare figures of this run only."]
    dpdk = packet_table(rows, ["established-64", "syn-64", "established-1518", "latency-64"], "ceiling", "weir")
    if dpdk:
        md += ["", "## Packets: DPDK engine, 1 worker, net_memif link", "",
           f"Generator weir_pktgen on core 0, device on core 1. Ceiling: {ceil_name}"
           + (" (dpdk-testpmd is not installed here; weir_macswap does what its macswap engine does, "
              "with weir's port set-up)" if ceil_name == "weir_macswap" else "") + ".", "",
           "Mpps: median forwarded (range over the runs); ratio of the medians; weir busy: the share of "
           "time weir's worker spent on polls that found packets, while it forwarded at its peak rate "
           "(weir_worker_busy_seconds_total), and the packets each of those polls found (at most 32): "
           "busy near 100 % with full bursts means weir's core is the limit; loss: offered frames that did not come back (median run).", "",
           "| traffic | flows | ceiling Mpps | weir Mpps | weir / ceiling | target | weir busy "
           "| loss % ceiling / weir "
           "| ceiling latency µs p50/p99/p99.9 | weir latency µs p50/p99/p99.9 | weir's replies checked |",
           "|---|---|---|---|---|---|---|---|---|---|---|"] + dpdk
    xdp = packet_table(rows, ["xdp-64"], "xdp-ceiling", "weir-xdp")
    if xdp:
        md += ["", "## Packets: XDP engine on a veth pair", "",
               "Generator weir_pktgen over AF_XDP on one end; on the other, xdp_tx.bpf.o (swap MACs, XDP_TX) "
               "as the ceiling, then weir's XDP engine.", "",
               "| traffic | flows | XDP_TX Mpps | weir XDP Mpps | weir / XDP_TX | | weir busy | loss % | "
               "XDP_TX latency µs | weir latency µs | weir's replies checked |",
               "|---|---|---|---|---|---|---|---|---|---|---|"] + xdp
    tcp = tcp_table(rows)
    if tcp:
        md += ["", "## Real TCP in the namespace lab (wrk, iperf3)", "",
               "Client → balancer → three nginx backends (weights 1:2:3); direct = client to one backend. "
               "Each figure: the median over the rounds (range over the rounds); × direct: ratio of the medians. "
               "Balancer CPU per connection: its processes' user+system time plus the softirq time beyond "
               "direct's for as many connections, during the new-connection run.", "",
               "| balancer | new conn/s | × direct | keep-alive req/s | iperf3 Gbit/s | CPU µs/conn | "
               "CPU (process + softirq) | errors |", "|---|---|---|---|---|---|---|---|"] + tcp
        md += ["", *tcp_verdict(rows)]
    os.makedirs(a.out, exist_ok=True)
    if plot(rows, os.path.join(a.out, "latest.png")):
        md += ["", "![weir benchmarks](latest.png)"]
    else:
        md += ["", "(no plot: python3-matplotlib is not installed)"]
    text = "\n".join(md) + "\n"
    for name in ("latest.md", f"{now:%Y-%m-%d}-{m['commit']}.md"):
        with open(os.path.join(a.out, name), "w") as f:
            f.write(text)
    shutil.copyfile(a.results, os.path.join(a.out, "latest.jsonl"))
    print(text)


if __name__ == "__main__":
    main()
