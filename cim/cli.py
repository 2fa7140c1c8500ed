"""`flexgrid cim import FILE...`: import with a progress bar and print the report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cim.importer import import_cgmes
from cim.model import summary, to_json
from cim.report import CimImportError, Finding


def _findings_table(findings: tuple[Finding, ...] | list[Finding]) -> Table:
    table = Table("severity", "code", "file", "mRID", "attribute", "message")
    for f in findings:
        table.add_row(f.severity, f.code, f.file or "", f.mrid or "", f.attribute or "", f.message)
    return table


@click.group(name="cim")
def cim() -> None:
    """CIM/CGMES network models."""


@cim.command(name="import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--strict", is_flag=True, help="Abort on warnings too.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the grid model as JSON here.",
)
def import_command(files: tuple[Path, ...], strict: bool, output: Path | None) -> None:
    """Import CGMES files (XML or zip) and print the import report."""
    console = Console()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("import", total=1.0)

        def progress(fraction: float, stage: str) -> None:
            bar.update(task, completed=fraction, description=stage)

        try:
            model, report = import_cgmes(list(files), strict=strict, progress=progress)
        except CimImportError as exc:
            bar.stop()
            console.print(f"[red]import failed:[/red] {exc}")
            console.print(_findings_table(exc.findings))
            raise SystemExit(1) from exc
    info = summary(model)
    console.print(f"imported {report.object_count} CIM objects in {report.seconds:.2f} s")
    console.print({k: v for k, v in info.counts.items() if v})
    console.print(f"voltage levels (kV): {', '.join(f'{v:g}' for v in info.voltage_levels_kv)}")
    if report.findings:
        console.print(_findings_table(report.findings))
    if output is not None:
        output.write_bytes(to_json(model))
        console.print(f"model written to {output}")
