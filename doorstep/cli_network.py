"""`doorstep network fetch`: load road networks into the shared cache before they are needed.

A nightly batch should not spend its first minutes (on every worker at once) reading OSM
extracts: fetching them ahead stores each mode's graph as GraphML under
DOORSTEP_CACHE_DIR, which the workers then read in seconds.
"""

from __future__ import annotations

import time

import click

from doorstep.cli_common import KnownError, load_settings, open_database


@click.group()
def network() -> None:
    """Road networks: warm the cache the planner and the batch workers read them from."""


@network.command("fetch")
@click.option(
    "--network",
    "sources",
    multiple=True,
    help="A network as regions name it: 'sample', a .osm/.osm.pbf/.graphml file, a place "
    "name or 'bbox:west,south,east,north' (repeat the option for more).",
)
@click.option(
    "--all-regions",
    is_flag=True,
    help="Every network a region in the database uses.",
)
def fetch(sources: tuple[str, ...], all_regions: bool) -> None:
    """Load road networks and keep them in DOORSTEP_CACHE_DIR (safe to repeat).

    On a cluster, run it where the cache folder is shared with the workers (or on each
    worker). A place name or a bbox needs the internet the first time only.
    """
    import geo
    from doorstep.regions import list_regions

    settings = load_settings()
    wanted = list(dict.fromkeys(sources))
    if all_regions:
        wanted += [r.network for r in list_regions(open_database(settings))]
        wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise click.UsageError("give --network N (repeatable) or --all-regions")
    failed = []
    for source in wanted:
        clock = time.perf_counter()
        try:
            loaded = geo.load_network(
                None if source == geo.SAMPLE else source, cache_dir=settings.cache_dir
            )
        except (ValueError, OSError) as exc:
            click.echo(f"{source}: not loaded: {exc}", err=True)
            failed.append(source)
            continue
        sizes = ", ".join(
            f"{mode} {g.number_of_nodes():,} nodes" for mode, g in loaded.graphs.items()
        )
        click.echo(f"{source}: {sizes} ({time.perf_counter() - clock:.1f} s)")
    click.echo(f"cache: {settings.cache_dir}")
    if failed:
        raise KnownError(
            f"{len(failed)} network(s) could not be loaded: {', '.join(failed)}; fix the "
            "source (a file path, or `doorstep region add R --network ...`) and run it again"
        )
