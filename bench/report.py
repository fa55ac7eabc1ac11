"""The bench's tables, as Markdown padded to read as plain text (docs/performance.md takes them
as they are)."""

from __future__ import annotations

from typing import Any, Final

MIB: Final = 1024 * 1024
OPERATION_LABELS: Final = {"get": "get", "page20": "page of 20", "iterate1000": "iterate 1,000"}
MODE_LABELS: Final = {"sync": "sync", "async": "async", "async64": "async, 64 tasks"}


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])


def _verdict(verdict: dict[str, Any]) -> str:
    return "pass" if verdict["pass"] else "MISS"


def _ratio(figures: dict[str, float]) -> str:
    return f"{figures['median']:.2f}x ({figures['p25']:.2f}-{figures['p75']:.2f})"


def throughput_table(summary: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> str:
    httpx2 = summary["httpx2"] is not None
    header = ["case", "client", "rounds", "CPU µs/req: json", "pydantic", "transport", "SDK"]
    header += ["SDK/json CPU", "SDK/pydantic CPU", "SDK/transport CPU", "SDK/json wall"]
    header += ["httpx2/json CPU"] if httpx2 else []
    header += ["budget", "result"]
    rows = []
    for name, case in summary["cases"].items():
        row = [OPERATION_LABELS[case["operation"]], MODE_LABELS[case["mode"]]]
        if case["error"]:
            row += ["", f"error: {case['error'][:70]}", "", "", "", "", "", "", ""]
            row += [""] if httpx2 else []
        else:
            cpu, ratios = case["cpu_us_per_request"], case["ratios"]
            row += [str(case["rounds"])]
            row += [f"{cpu[column]:.0f}" for column in ("json", "pydantic", "transport", "sdk")]
            row += [
                _ratio(ratios[key])
                for key in ("sdk/json cpu", "sdk/pydantic cpu", "sdk/transport cpu")
            ]
            row += [_ratio(ratios["sdk/json wall"])]
            row += [_ratio(ratios["httpx2/json cpu"])] if httpx2 else []
        verdict = verdicts[name]
        row += [f"≤ {verdict['budget']:.2f}x", _verdict(verdict)]
        rows.append(row)
    return table(header, rows)


def tasks_table(summary: dict[str, Any]) -> str:
    by_tasks = summary["cpu_by_tasks"]
    header = [
        "async client shared by",
        *(f"{tasks} task{'s' * (int(tasks) > 1)}" for tasks in by_tasks),
    ]
    rows = [
        ["httpx + json(): CPU µs/get", *(f"{cpu['json']:.0f}" for cpu in by_tasks.values())],
        ["SDK: CPU µs/get", *(f"{cpu['sdk']:.0f}" for cpu in by_tasks.values())],
    ]
    return table(header, rows)


def pool_table(summary: dict[str, Any]) -> str:
    # CPU only: with 64 tasks the client is CPU-bound, so wall time is the same (it is in the
    # JSON).
    by_limits = summary["cost_by_pool_limits"]
    columns = list(next(iter(by_limits.values())))
    header = [
        "64 tasks, pool limits (connections / keep-alive)",
        *(f"{name}: CPU µs/get" for name in columns),
    ]
    rows = [
        [label, *(f"{costs[name]['cpu_us']:.0f}" for name in columns)]
        for label, costs in by_limits.items()
    ]
    return table(header, rows)


def memory_table(summary: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, figures in summary["memory"].items():
        what, mode = name.split(".")
        if what == "iterate":
            label = f"iterate {figures.get('items', 0):,} projects ({mode}): peak RSS growth"
            detail = (
                f"after the first {figures.get('baseline_after_items', 0):,}: RSS "
                f"{figures.get('baseline_mib', 0):.1f} MiB then, {figures.get('end_mib', 0):.1f} "
                f"MiB at the end; {figures.get('seconds', 0):.1f} s"
            )
        else:
            label = f"write a {figures.get('bytes', 0) // MIB} MiB file ({mode}): peak RSS growth"
            detail = (
                f"from {figures.get('baseline_mib', 0):.1f} MiB; "
                f"{figures.get('mib_per_s', 0)} MiB/s"
            )
        verdict = verdicts[name]
        if "error" in figures:
            value = f"error: {figures['error']}"
        else:
            value = f"{figures['growth_mib']:.2f} MiB ({detail})"
        rows.append([label, value, f"≤ {verdict['budget']:g} MiB", _verdict(verdict)])
    imports = summary["imports"]
    rows += _import_rows(imports, "", verdicts)
    if "as_installed" in imports:
        rows += _import_rows(imports["as_installed"], ", with httpx's CLI extras", None)
    return table(["figure", "value", "budget", "result"], rows)


def _import_rows(
    imports: dict[str, Any], variant: str, verdicts: dict[str, dict[str, Any]] | None
) -> list[list[str]]:
    """The import figures; judged only for the plain variant (`verdicts` given)."""

    def figures(subject: dict[str, Any]) -> str:
        return (
            f"{subject['median_ms']:.1f} ms ({subject['min_ms']:.1f}-{subject['max_ms']:.1f}), "
            f"{subject['modules']} modules"
        )

    def judged(name: str, unit: str) -> list[str]:
        if verdicts is None:
            return ["", "(info)"]
        return [f"≤ {verdicts[name]['budget']:g} {unit}", _verdict(verdicts[name])]

    extra = f"{imports['extra_ms']:+.1f} ms, {imports['extra_modules']:+d} modules"
    return [
        [
            f"import craft_sdk{variant}",
            figures(imports["craft_sdk"]),
            *judged("import.modules", "modules"),
        ],
        [f"import httpx, pydantic{variant}", figures(imports["httpx_pydantic"]), "", ""],
        [
            f"import craft_sdk over httpx, pydantic{variant}",
            extra,
            *judged("import.extra_ms", "ms"),
        ],
        [
            f"from craft_sdk import CraftClient, AsyncCraftClient, after httpx, pydantic and "
            f"one model{variant}",
            figures(imports["first_use"]) + " in all",
            *judged("import.first_use_ms", "ms"),
        ],
        [
            f"first use: modules in all{variant}",
            str(imports["first_use"]["modules"]),
            *judged("import.first_use_modules", "modules"),
        ],
    ]


def render(summary: dict[str, Any]) -> str:
    verdicts = {verdict["name"]: verdict for verdict in summary["budgets"]}
    system = summary["machine"]
    server = summary["server"]
    missed = summary["missed"]
    lines = [
        f"craft-sdk {summary['craft_sdk']} bench, {summary['plan']} plan, {summary['date']}: "
        f"Python {summary['python']}, httpx {summary['httpx']}, pydantic {summary['pydantic']}; "
        f"{system['nproc']} CPUs, {system['cpu']}",
        "",
        "Client CPU per HTTP request, the SDK against httpx floors on the same requests. "
        "µs: medians over the rounds; ratios: median (p25-p75) of the per-round ratios.",
        "",
        throughput_table(summary, verdicts),
        "",
        f"httpx2: {summary['httpx2']} (an extra floor column)"
        if summary["httpx2"]
        else "httpx2: not installed (it needs Python 3.11 or later), so no httpx2 column.",
        f"Server: {server['requests']:,} requests at {server['cpu_us_per_request']:.0f} µs of "
        "its own CPU each, in its own process.",
        "",
        tasks_table(summary),
        "",
        pool_table(summary),
        "",
        memory_table(summary, verdicts),
        "",
        f"Imports: median (min-max) of {summary['imports']['runs']} fresh interpreters each"
        + (
            "; httpx's optional CLI (click, rich, pygments) is installed here, and hidden from "
            "the judged figures as after `pip install craft-sdk`."
            if summary["imports"]["httpx_cli_installed"]
            else "."
        ),
        "",
        f"Budgets missed: {len(missed)} of {len(verdicts)}"
        + (f" ({', '.join(missed)})" if missed else "")
        + f". The bench took {summary['elapsed_s']:.0f} s.",
    ]
    return "\n".join(lines)
