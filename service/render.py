"""The human-readable diagnosis card printed by `panicdx diagnose`."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from service.diagnosis import Diagnosis


def render_diagnosis(console: Console, diagnosis: Diagnosis, name: str) -> None:
    """Print one diagnosis as a card: answer, evidence, fix, references, caveats."""
    parts: list[Text | str] = []
    if diagnosis.root_cause is not None:
        headline = Text.assemble(
            ("Root cause: ", "bold"),
            (diagnosis.root_cause.title, "bold cyan"),
            f"  [{diagnosis.root_cause.id}]",
        )
    else:
        headline = Text("Root cause: unknown (not enough evidence for an answer)", style="bold")
    parts.append(headline)
    parts.append(
        Text.assemble(
            ("Category: ", "bold"),
            diagnosis.category,
            ("   Confidence: ", "bold"),
            _percent(diagnosis.confidence),
            ("   Decided by: ", "bold"),
            diagnosis.decided_by,
        )
    )
    if diagnosis.summary:
        parts += ["", diagnosis.summary.strip()]
    if diagnosis.evidence:
        parts += ["", Text("Evidence", style="bold underline")]
        for ev in diagnosis.evidence:
            parts.append(
                Text.assemble(
                    (f"{ev.line:>6}  ", "dim"),
                    (ev.text, "yellow"),
                    (f"  ({_short(ev.why)})", "dim"),
                )
            )
    if diagnosis.remediation:
        parts += ["", Text("What to do", style="bold underline")]
        for number, step in enumerate(diagnosis.remediation, 1):
            parts.append(f"{number}. {escape(step.text.strip())}")
            if step.command:
                parts.append(Text(f"     $ {step.command}", style="green"))
    if diagnosis.applicability is not None and diagnosis.applicability.status != "unknown":
        parts += ["", Text.assemble(("Your kernel: ", "bold"), diagnosis.applicability.message)]
    if diagnosis.fixed_in:
        fixed = ", ".join(f"{f.stream} {f.version}" for f in diagnosis.fixed_in)
        parts.append(Text.assemble(("Fixed in: ", "bold"), fixed))
    if diagnosis.verify:
        parts += ["", Text("How to verify", style="bold underline")]
        parts += [f"- {escape(v.strip())}" for v in diagnosis.verify]
    if diagnosis.references:
        parts += ["", Text("References", style="bold underline")]
        parts += [Text(f"- {r.title}: {r.url}") for r in diagnosis.references]
    if diagnosis.alternatives:
        parts += ["", Text("Also possible", style="bold underline")]
        parts += [Text(f"- {a.title} [{a.id}] {a.confidence:.0%}") for a in diagnosis.alternatives]
    if diagnosis.warnings:
        parts.append("")
        parts += [Text(f"warning: {w}", style="magenta") for w in diagnosis.warnings]
    report = diagnosis.report or {}
    subtitle = " · ".join(
        str(v)
        for v in (report.get("title"), report.get("kernel_release"), diagnosis.source.format)
        if v
    )
    console.print(
        Panel(Group(*parts), title=escape(name), subtitle=escape(subtitle), title_align="left")
    )


def _percent(probability: float) -> str:
    # "100%" would claim certainty that a calibrated model never has.
    return ">99%" if probability >= 0.995 else f"{probability:.0%}"


def _short(why: str) -> str:
    """The card names the signature; the regex it matched stays in the JSON output."""
    return why.split(": text matches", 1)[0]
