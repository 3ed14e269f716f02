"""The configuration's schema: every key of base.yaml, YEAR.yaml, a region profile, tables.yaml and
models.yaml, with its type, whether it is required, and the date form operators must write.

pydantic v2 models with `extra="forbid"` (an unknown key is a mistake, usually a typo) and strict
types (`"11.900"` is not a number of invited firms, `"2023, 2022"` is not a list of years), frozen.
They check what operators write (`innomon.config_check` turns their errors into one sentence naming
the file and the key), and `RunConfig` is what every stage reads at run time: the loader's resolved
configuration, typed; a table's `kind` chooses its model (a discriminated union).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from schemas.datamap import DatamapRow
from schemas.vocabulary import Stat

AMSTERDAM = "Europe/Amsterdam"
DATE_FORMS = "YYYY-MM-DD (the end of that day, Europe/Amsterdam) or YYYY-MM-DDTHH:MM:SS with a zone (+02:00 or Z)"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME_NO_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_DATE_TIME_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def iso_date_text(value: Any) -> str:
    """The text of an ISO 8601 date or zoned date-time, as written; anything else is refused.

    YAML reads an unquoted `2024-06-14` as a date: it is the same date-only form. Day-month orders
    (`05-06-2024`, `14/06/2024`), month names and a time without a zone are refused, because each
    was read as another moment than the operator meant."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has a time but no zone; write {DATE_FORMS}")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date; write {DATE_FORMS}")
    text = value.strip()
    if _DATE_TIME_NO_ZONE.fullmatch(text):
        raise ValueError(f"{value!r} has a time but no zone; write {DATE_FORMS}")
    if not (_DATE_ONLY.fullmatch(text) or _DATE_TIME_ZONE.fullmatch(text)):
        raise ValueError(f"{value!r} is not an ISO 8601 date; write {DATE_FORMS}")
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date of the calendar; write {DATE_FORMS}") from None
    return text


def close_cutoff(text: str) -> dt.datetime:
    """The first moment after fieldwork closed, as naive Europe/Amsterdam wall-clock time (the clock
    the survey platform's exports record in): a response at or after it came in after the close.

    A date-only close means the whole of that day belongs to the fieldwork."""
    from zoneinfo import ZoneInfo

    text = iso_date_text(text)
    if _DATE_ONLY.fullmatch(text):
        return dt.datetime.fromisoformat(text) + dt.timedelta(days=1)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ZoneInfo(AMSTERDAM))
    return moment.replace(tzinfo=None) + dt.timedelta(microseconds=1)


IsoDate = Annotated[str, BeforeValidator(iso_date_text)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Share = Annotated[float, Field(ge=0, le=1)]


def relative_path(value: str) -> str:
    """A path inside its folder: no scheme (`s3://`, `file:`), not absolute (`/`, `\\`, `C:`), no
    `..` part and no control character. A configuration value names a file; where that file lives is
    the operator's choice of root, never the configuration's."""
    if not value or not value.strip():
        raise ValueError("is empty; name a file")
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{value!r} holds a control character")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        raise ValueError(f"{value!r} has a scheme or a drive; write a path relative to its folder")
    if value.startswith(("/", "\\")):
        raise ValueError(f"{value!r} is absolute; write a path relative to its folder")
    if ".." in re.split(r"[/\\]", value):
        raise ValueError(f"{value!r} climbs out of its folder with '..'")
    return value


def file_name(value: str) -> str:
    """A file name: a relative path of one part (no `/` or `\\`)."""
    relative_path(value)
    if re.search(r"[/\\]", value):
        raise ValueError(f"{value!r} names a folder; write a file name only")
    return value


RelativePath = Annotated[str, AfterValidator(relative_path)]
FileName = Annotated[str, AfterValidator(file_name)]
# A variable name as the datamap and the derived variables spell it.
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
# A run id (the first 16 hex digits of the release's hash), as `rollback --to` takes it.
RUN_ID_PATTERN = r"^[0-9a-f]{16}$"
# The longest a presigned link may live: S3 (Signature Version 4) refuses more than seven days.
MAX_LINK_EXPIRY_SECONDS = 7 * 24 * 3600
# The smallest base a published cell may have: below it, a cell is suppressed whatever the
# configuration says (a floor against a configuration that would publish single firms).
MIN_SUPPRESSION_N = 5


class Strict(BaseModel):
    """Unknown keys refused, no type coercion, and frozen: a stage reads its configuration, never
    changes it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Monitor(Strict):
    title: str
    short: str
    publisher: str
    contact: str
    language: str = "nl-NL"


class Region(Strict):
    provinces: list[str] = Field(min_length=1)
    model_reference: str | None = None
    name: str | None = None


class Reference(Strict):
    pc4: RelativePath
    sbi: RelativePath


class Sectors(Strict):
    order: list[str] = Field(min_length=1)
    model_reference: str
    by_section: dict[str, str]
    by_division: dict[str, str] = {}


class Universe(Strict):
    valid_status: list[int]
    completion_progress: float = Field(ge=0, le=100)
    sme_fte_limit: float = Field(gt=0)


# A class and its exclusive upper bound (null: no upper bound), written as a YAML pair `[micro, 10]`.
ClassBound = Annotated[tuple[str, float | None], BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v)]


class Classes(Strict):
    size_class: list[ClassBound]
    age_class: list[ClassBound]
    founding_year_min: int


class ConstantSum(Strict):
    items: list[str]
    min: float
    max: float


class Thresholds(Strict):
    """The disclosure rules (decision D50) and the thresholds of the statistics."""

    suppression_min_n: int = Field(ge=MIN_SUPPRESSION_N)  # base rule: a smaller base is suppressed
    # frequency rule: a share whose firms with (or without) the answer number 1..max_count, in a
    # base under `frequency_below_base`, describes those few firms
    frequency_max_count: int = Field(ge=1, le=5)
    frequency_below_base: int = Field(ge=0)
    # dominance (p% rule) on the means of magnitudes: the other firms' total is under p% of the largest
    dominance_p: float = Field(gt=0, le=100)
    dominance_items: list[Identifier]
    # the narrowest interval an intruder may derive for a suppressed cell: points of a share, and a
    # share of the answer scale for a mean
    protection_pp: float = Field(ge=1, le=100)
    protection_scale_share: float = Field(gt=0, le=1)
    reliability_min_n: int = Field(ge=0)
    alpha: float = Field(gt=0, lt=1)
    confidence: float = Field(gt=0, lt=1)


# A run recomputes its two comparison years from their archived exports and links each year to the
# one before: data of the last three years must be whole.
MIN_RETENTION_YEARS = 3


class Retention(Strict):
    """How long the store keeps what identifies firms (`innomon retention`)."""

    raw_exports_years: int = Field(ge=MIN_RETENTION_YEARS)  # an archived export and frame, after its year
    identities_years: int = Field(ge=MIN_RETENTION_YEARS)  # a year's identities, after that year


class Linking(Strict):
    key_env: str = Field(pattern=r"^INNOMON_[A-Z0-9_]*KEY$")  # the variable holding the panel key
    accept: Share
    review: Share
    em_min_records: int | None = None
    expected_repeat_share: Share
    reviewed_file: RelativePath


RowRule = Literal[
    "unknown_code",
    "out_of_range",
    "unparseable_number",
    "unparseable_date",
    "routing_violation",
    "constant_sum",
    "sbi_unknown",
    "sbi_ambiguous",
    "impossible_founding_year",
]


class Validation(Strict):
    year_mismatch_share: Share
    unknown_code_share: Share
    levels: dict[RowRule, Literal["row", "file"]] = {}
    corrections_file: RelativePath


class Weighting(Strict):
    """The invitation frame and the raking of respondents to it (tables R01, R02)."""

    frame_file: FileName = "frame-{year}.csv"
    margins: list[Literal["province", "size_class", "sector"]] = Field(
        default=["province", "size_class", "sector"], min_length=1
    )
    # No key: no cap (base.yaml sets 3.5). An int stays an int, so `4` is printed as written.
    trim_k: Annotated[int | float, Field(gt=1)] | None = None
    apply_to_tables: bool = False


class Dask(Strict):
    address: str | None = None
    n_workers: int = Field(ge=1)
    threads_per_worker: int = Field(ge=1)


class Execution(Strict):
    task_runner: Literal["default", "dask"] = "default"
    dask: Dask


class Schedule(Strict):
    cron: str
    timezone: str


class Publish(Strict):
    workbook_name: FileName
    approval_required: bool = False
    approval_timeout_seconds: int = Field(gt=0)
    link_expiry_seconds: int = Field(gt=0, le=MAX_LINK_EXPIRY_SECONDS)
    date: IsoDate | None = None


class Qa(Strict):
    tolerance_pp: float = Field(ge=0)
    tolerance_mean: float = Field(ge=0)


class Source(Strict):
    """Where the year's export comes from and how it is written."""

    filename: FileName
    format: Literal["qualtrics_csv", "sav", "xlsx"]
    # How the export writes its dates: ISO8601 (Qualtrics; SPSS and Excel date cells are read as
    # ISO text), or a strptime pattern such as "%d-%m-%Y %H:%M" for a file saved by Dutch Excel.
    date_format: Annotated[str, Field(pattern=r"^(ISO8601|.*%.*)$")] = "ISO8601"
    kind: Literal["file", "qualtrics"] = "file"
    uri: str | None = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    survey_id: str | None = None
    # https only, no user or password in it; its host must be on the worker's allowlist
    # (`INNOMON_SOURCE_HOSTS`, checked with the configuration: innomon.config_check).
    base_url: Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")] | None = None
    # The variable that holds the API token: a QUALTRICS_ one, never another secret of the worker's.
    token_env: Annotated[str, Field(pattern=r"^QUALTRICS_[A-Z0-9_]+$")] | None = None
    token_secret: str | None = None
    timeout: float | None = None
    poll_interval: float | None = None


class Fieldwork(Strict):
    close: IsoDate


class Planted(Strict):
    preview: int = Field(ge=0, default=0)
    test: int = Field(ge=0, default=0)
    incomplete: int = Field(ge=0, default=0)
    outside_region: int = Field(ge=0, default=0)
    not_sme: int = Field(ge=0, default=0)
    duplicate: int = Field(ge=0, default=0)


class Synth(Strict):
    """The synthetic generator's settings for the demo (never used by a real run)."""

    seed: int | None = None
    n_valid: int | None = Field(ge=1, default=None)
    repeat_from_previous: int | None = Field(ge=0, default=None)
    planted: Planted | None = None
    overig_share: Share | None = None
    province_shares: Literal["pc4"] | None = None


class YearFields(Strict):
    """What one monitor year's configuration says, in the files operators write and as every stage
    reads it (`YearConfig`, `RunConfig`)."""

    year: Year
    reference_period: Annotated[str, Field(pattern=r"^\d{4}-\d{4}$")]
    source: Source
    datamap: RelativePath
    fieldwork: Fieldwork
    invited: Annotated[int, Field(ge=1)] | None  # required: null says "unknown" explicitly
    comparison_years: list[Year]
    breaks: dict[str, list[Year]] = {}
    monitor: Monitor
    region: Region
    reference: Reference
    sectors: Sectors
    universe: Universe
    classes: Classes
    missing_codes: list[int] = []
    constant_sum: ConstantSum
    thresholds: Thresholds
    linking: Linking
    validation: Validation
    weighting: Weighting = Weighting()
    synth: Synth | None = None


class YearConfig(YearFields):
    """base.yaml, merged with YEAR.yaml and a region profile: one monitor year."""

    execution: Execution
    schedule: Schedule
    publish: Publish
    qa: Qa
    tables_file: RelativePath
    models_file: RelativePath
    report_file: RelativePath | None = None
    retention: Retention


# --- tables.yaml -------------------------------------------------------------------------------


class Chart(Strict):
    kind: Literal["bar", "stacked"]
    stat: Stat
    category: str | None = None


Dim = Literal["year", "group", "item", "category", "stat"]


class Layout(Strict):
    """How a table is shown to readers (workbook, report draft): the dimensions down the rows and
    across the columns, in the report's order and with the report's labels."""

    rows: list[Dim] = Field(min_length=1)
    columns: list[Dim] = Field(min_length=1)
    years: Literal["all", "current"] = "all"
    groups: Literal["all", "by", "both"] | None = None  # default: `all`, or the groups when laid out
    stat_labels: dict[Stat, str] = {}
    label_format: dict[Dim, str] = {}  # e.g. {group: "Uit {} naar"}: `{}` is the label
    formats: dict[str, Literal["percent", "percent1", "decimal", "decimal3", "count"]] = {}  # by item or statistic
    sort: dict[Dim, Literal["label"]] = {}
    item_labels: dict[str, str] = {}  # this table's wording of an item, where it differs from `labels`

    @model_validator(mode="after")
    def _dims_once(self) -> Layout:
        dims = self.rows + self.columns
        twice = sorted({d for d in dims if dims.count(d) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is laid out twice (rows and columns name each dimension once)")
        for dim, text in self.label_format.items():
            if text.count("{}") != 1:
                raise ValueError(f"label_format.{dim} must hold one {{}} for the label, not {text!r}")
        return self


class Figure(Strict):
    """One key figure (K01): a count from the run (`source`) or a ratio of two of them."""

    item: str
    stat: Literal["n", "pct"]
    source: Literal["invited", "records", "valid", "repeat"] | None = None
    numerator: Literal["invited", "records", "valid", "repeat"] | None = None
    denominator: Literal["invited", "records", "valid", "repeat"] | None = None


class ItemInUniverse(Strict):
    """An item asked only of part of the table's universe (e.g. where collaboration took place, of the
    firms that collaborated with that partner): a pandas query over the respondent table."""

    item: str
    universe: str


class TableBase(Strict):
    """What every table has, whatever its kind: an id, where the report shows it, its title, the
    monitor years its items were asked, and how it is laid out for readers."""

    id: Annotated[str, Field(pattern=r"^[A-Z]\d{2}[A-Z]?$")]
    kind: str  # each kind's model narrows it to its own name
    report: str
    title: str
    years: list[Year] | None = None
    layout: Layout | None = None
    by_layout: Layout | None = None
    # The engine's common reading of a table; a kind that has no such key leaves it at its default.
    universe: str | None = "valid"  # a name of `universes`; null: every respondent of the year
    items: list[str | ItemInUniverse] | None = None
    stats: list[Stat] | None = None
    categories: list[str] | None = None
    top: int | None = None
    by: list[str] | None = None
    by_only: bool = False
    chart: Chart | None = None

    @property
    def item_names(self) -> list[str]:
        """The items' variable names (an item asked of part of the universe by its name)."""
        return [i if isinstance(i, str) else i.item for i in self.items or []]


class DistributionTable(TableBase):
    """Shares, top-box shares and means of items over a universe, by year and breakdown."""

    kind: Literal["distribution"] = "distribution"


class KeyFiguresTable(TableBase):
    """K01: counts of the run and ratios of two of them."""

    kind: Literal["key_figures"]
    figures: list[Figure]


class PanelTransitionsTable(TableBase):
    """P01: this year's segment of the firms in both years, by last year's segment."""

    kind: Literal["panel_transitions"]
    item: str


class PanelChangeTable(TableBase):
    """P02: key indicators of the panel beside the full samples, both years."""

    kind: Literal["panel_change"]


class ResponseByStratumTable(TableBase):
    """R01: response by weighting stratum, with a goodness-of-fit test against the frame."""

    kind: Literal["response_by_stratum"]


class WeightedComparisonTable(TableBase):
    """R02: the weighted shares of key indicators beside the unweighted ones."""

    kind: Literal["weighted_comparison"]
    indicators: list[Annotated[str, Field(pattern=r"^[A-Z]\d{2}[A-Z]?$")]]


def _table_kind(value: Any) -> str:
    """The discriminator of a table: its `kind`, `distribution` when it names none."""
    if isinstance(value, dict):
        return str(value.get("kind", "distribution"))
    return str(getattr(value, "kind", "distribution"))


# A table of tables.yaml: one model per kind, chosen by `kind` (pydantic's discriminated union).
Table = Annotated[
    Annotated[DistributionTable, Tag("distribution")]
    | Annotated[KeyFiguresTable, Tag("key_figures")]
    | Annotated[PanelTransitionsTable, Tag("panel_transitions")]
    | Annotated[PanelChangeTable, Tag("panel_change")]
    | Annotated[ResponseByStratumTable, Tag("response_by_stratum")]
    | Annotated[WeightedComparisonTable, Tag("weighted_comparison")],
    Discriminator(_table_kind),
]
TABLE_MODELS: dict[str, type[TableBase]] = {
    "distribution": DistributionTable,
    "key_figures": KeyFiguresTable,
    "panel_transitions": PanelTransitionsTable,
    "panel_change": PanelChangeTable,
    "response_by_stratum": ResponseByStratumTable,
    "weighted_comparison": WeightedComparisonTable,
}
TABLE_KINDS = tuple(TABLE_MODELS)


class Labels(Strict):
    items: dict[str, str] = {}
    categories: dict[str, dict[str, str]] = {}


class TablesSpec(Strict):
    universes: dict[str, str]
    derived_categories: dict[str, list[str]] = {}
    tables: list[Table]
    labels: Labels = Labels()


# --- models.yaml -------------------------------------------------------------------------------


class Model(Strict):
    id: Annotated[str, Field(pattern=r"^M\d+$")]
    report: str
    title: str
    method: Literal["ols", "logit"]
    formula: str


class ModelsSpec(Strict):
    references: dict[str, str] = {}
    binary: list[str] = []
    covariance: Literal["nonrobust", "HC0", "HC1", "HC2", "HC3"] = "nonrobust"
    min_observations: int = Field(ge=1)
    models: list[Model]
    term_labels: dict[str, str] = {}
    fit_labels: dict[str, str] = {}


# --- report/outline.yaml ---------------------------------------------------------------------


class Block(Strict):
    """One piece of a section, in reading order: a paragraph template, a table, a chart or a model."""

    text: str | None = None
    table: str | None = None
    breakdown: str | None = None
    chart: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Block:
        kinds = [k for k in ("text", "table", "chart", "model") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a block is one of text, table, chart or model, not {kinds or 'none'}")
        if self.breakdown is not None and self.table is None:
            raise ValueError("breakdown belongs to a table block")
        return self


class Section(Strict):
    number: str
    title: str
    content: list[Block] = Field(min_length=1)


class Chapter(Strict):
    title: str
    sections: list[Section] = Field(min_length=1)


class Outline(Strict):
    title: str
    subtitle: str
    template: RelativePath
    source: str
    chapters: list[Chapter] = Field(min_length=1)


# --- the resolved configuration, as every stage reads it ----------------------------------------


class ResolvedRegion(Region):
    profile: str | None = None  # the region profile the loader merged (`--region`), None for the base


class RunConfig(YearFields):
    """One year's resolved configuration, typed: what the loader (`innomon.config.load`) builds from
    the YAML layers and the files they name, stored by hash by the configure step, and read back by
    every stage (`RunConfig.model_validate(refs.get_json(cfg_ref))`).

    A per-year stage gets the year's view without what only the combined steps read (tables,
    models, report, publish, qa, schedule, synth: None there, `innomon.config.COMBINED_ONLY`); the
    combined steps get the current year's configuration with its comparison years' datamap rows.
    `execution` (where the work runs) is never part of it."""

    region: ResolvedRegion
    # What only the combined steps read (None in a per-year stage's view).
    schedule: Schedule | None = None
    retention: Retention | None = None
    publish: Publish | None = None
    qa: Qa | None = None
    tables_file: RelativePath | None = None
    models_file: RelativePath | None = None
    report_file: RelativePath | None = None
    tables: TablesSpec | None = None
    models: ModelsSpec | None = None
    report: Outline | None = None
    # What the loader adds: the datamap's rows, the hashes of every file read, the configuration's hash.
    datamap_rows: list[DatamapRow]
    comparison_datamap_rows: dict[str, list[DatamapRow]] = {}
    files: dict[str, str]
    hash: str

    def columns_of(self, variables: Mapping[str, str]) -> dict[str, str]:
        """The export column of each named datamap variable (`{name: variable}` -> `{name: column}`),
        for the variables the year's datamap has."""
        by_variable = {row.variable: row.column_id for row in self.datamap_rows}
        return {name: by_variable[v] for name, v in variables.items() if v in by_variable}

    def answer_scale(self, variable: str) -> tuple[float, float]:
        """The range of a variable's answers: what an intruder knows of a firm's value before any
        figure, and the scale the protection of a suppressed mean is measured on (D50). A count of
        people (R&D employees) without an upper code is bounded by the SME limit."""
        from schemas.datamap import parse_codes

        limit = float(self.universe.sme_fte_limit)
        if variable == "fte":
            return 0.0, limit
        if variable == "age":
            return 0.0, float(self.year - self.classes.founding_year_min)
        for row in self.all_datamap_rows:
            if row.variable == variable:
                spec = parse_codes(row.codes)
                if spec.codes:
                    return min(spec.codes), max(spec.codes)
                return (spec.low if spec.low is not None else 0.0), (spec.high if spec.high is not None else limit)
        raise ValueError(f"No answer scale is known for {variable!r}: it is neither in the datamap nor fte or age.")

    @property
    def all_datamap_rows(self) -> list[DatamapRow]:
        """The current year's datamap rows, then those of the comparison years (newest first)."""
        rows = list(self.datamap_rows)
        for year in sorted(self.comparison_datamap_rows, reverse=True):
            rows.extend(self.comparison_datamap_rows[year])
        return rows

    def _combined(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"the configuration of {self.year} has no {name} (a per-year view?)")
        return value

    @property
    def tables_spec(self) -> TablesSpec:
        """The tables: the combined steps' view always has them, a per-year view never."""
        return self._combined("tables")

    @property
    def models_spec(self) -> ModelsSpec:
        """The models: the combined steps' view always has them, a per-year view never."""
        return self._combined("models")

    @property
    def publish_settings(self) -> Publish:
        """How the year is published: the combined steps' view always has it, a per-year view never."""
        return self._combined("publish")

    @property
    def table_specs(self) -> list[TableBase]:
        """The tables of the configuration (none in a per-year stage's view)."""
        return list(self.tables.tables) if self.tables else []

    def table(self, table_id: str) -> TableBase:
        """The table `table_id` of the configuration."""
        return next(t for t in self.table_specs if t.id == table_id)

    def frame_file(self, year: int | None = None) -> str:
        """The invitation frame's file name in a year's drop folder (`weighting.frame_file`)."""
        return self.weighting.frame_file.format(year=year if year is not None else self.year)


class RunPlan(Strict):
    """What the configure step hands the annual flow: the years of the run (current year first), the
    references of their stored configurations, and what the flow passes on to its tasks.

    The task parameters taken from it (`sources`, `corrections`, `reviewed`, `frames`, `execution`)
    stay plain JSON-able values, exactly as the configuration writes them: they go into cache keys."""

    years: list[int]
    configs: dict[str, dict[str, Any]]  # year -> reference of the year's per-year view
    current: dict[str, Any]  # reference of the current year's config with its comparison datamaps
    pins: dict[str, str | None]  # year -> the frozen export's SHA-256 (`source.sha256`)
    code_version: str
    sources: dict[str, dict[str, Any]]  # year -> `source` of the configuration, as written
    corrections: dict[str, str | None]  # year -> `validation.corrections_file`
    reviewed: dict[str, str | None]  # year -> `linking.reviewed_file`
    apply_weights: bool
    frames: dict[str, str]  # year -> the invitation frame's file name
    execution: Execution  # where the work runs, with the environment's overrides (`execution_settings`)
    table_ids: list[str]
    model_ids: list[str]
    approval_required: bool
    approval_timeout: int
    export_columns: dict[str, list[str]]  # year -> the columns fetch keeps (the datamap's, as each format names them)
    identity_columns: dict[str, dict[str, str]]  # year -> the export's column per identifier kind (erasure)
    key_env: str  # the variable holding the panel key (`linking.key_env`)
    key_id: str  # the panel key's fingerprint (`innomon.keys.fingerprint`): in the keyed stages' cache keys
