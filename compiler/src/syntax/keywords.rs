//! Which properties each block takes, and the forms each property is written in.
//!
//! Shared by the lowering (unknown or malformed property diagnostics), the semantic stage and
//! the documentation tests, so the lists exist once.

use crate::syntax::ast::DeclKind;

/// Where a property line can appear: a declaration block, a source's `columns` block or the
/// `attributes` block of `users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Decl(DeclKind),
    Columns,
    Attributes,
}

impl Block {
    /// How the block is named in messages: "a source", "a columns block".
    pub fn describe(self) -> &'static str {
        match self {
            Block::Decl(DeclKind::Source) => "a source",
            Block::Decl(DeclKind::Dimension) => "a dimension",
            Block::Decl(DeclKind::Calendar) => "a calendar",
            Block::Decl(DeclKind::Retention) => "a retention rule",
            Block::Decl(DeclKind::Mart) => "a mart",
            Block::Decl(DeclKind::Metric) => "a metric",
            Block::Decl(DeclKind::Report) => "a report",
            Block::Decl(DeclKind::Role) => "a role",
            Block::Decl(DeclKind::Users) => "the users block",
            Block::Columns => "a columns block",
            Block::Attributes => "an attributes block",
        }
    }

    pub fn properties(self) -> &'static [&'static str] {
        match self {
            Block::Decl(kind) => properties(kind),
            Block::Columns | Block::Attributes => &[],
        }
    }
}

/// The properties a declaration's block takes, in canonical order.
pub fn properties(kind: DeclKind) -> &'static [&'static str] {
    match kind {
        DeclKind::Source => &[
            "title",
            "description",
            "owner",
            "refresh",
            "landing",
            "load",
            "key",
            "retain",
            "retention",
            "columns",
        ],
        DeclKind::Dimension => &["title", "description", "owner", "from", "level", "hierarchy"],
        DeclKind::Calendar => {
            &["title", "description", "fiscal_year_start", "week_start", "grains", "timezone"]
        }
        DeclKind::Retention => &["title", "description", "follow", "keep", "archive"],
        DeclKind::Mart => &[
            "title",
            "description",
            "owner",
            "kind",
            "metrics",
            "dimensions",
            "grain",
            "drill",
            "retention",
        ],
        DeclKind::Metric => &[
            "title",
            "description",
            "owner",
            "unit",
            "measure",
            "time",
            "by",
            "grain",
            "top",
            "compare",
            "buckets",
            "per",
            "window",
            "target",
            "format",
        ],
        DeclKind::Report => &["title", "description", "owner", "mart", "metrics", "by", "grain"],
        DeclKind::Role => &[
            "title",
            "description",
            "marts",
            "metrics",
            "reports",
            "scope",
            "allow",
            "min_cell_size",
        ],
        DeclKind::Users => &["attributes"],
    }
}

/// The shapes a property takes, for the help line of a malformed-property diagnostic.
pub fn forms(keyword: &str) -> &'static str {
    match keyword {
        "title" => "title \"Case Management System\"",
        "description" => "description \"What it holds and why\"",
        "owner" => "owner \"Office of Operations\"",
        "refresh" => {
            "refresh every 15 minutes | refresh hourly | refresh daily at 06:00 | \
             refresh weekly on sunday at 02:00 | refresh cron \"*/15 * * * *\""
        }
        "landing" => "landing \"visits/*.csv\" as csv | landing \"orders/*.csv\" as csv (delimiter = \"|\")",
        "load" => {
            "load snapshot | load append | load append delete_marker is_deleted | \
             load incremental by updated_at | load incremental by updated_at lookback 2 days | \
             load incremental by updated_at delete_marker is_deleted | load cdc delete_marker is_deleted"
        }
        "key" => "key visit_id | key (clinic_code, visit_id)",
        "retain" => "retain 6 years | retain 6 years by visit_date | retain forever",
        "retention" => "retention warehouse_standard",
        "columns" => "columns { name type [not null] [-> dimension.level] [pii(class, ...)] [default value] }",
        "attributes" => "attributes { name type [-> dimension.level] }",
        "from" => "from clinics",
        "level" => "level clinic key clinic_code label clinic_name",
        "hierarchy" => "hierarchy national > region > clinic",
        "fiscal_year_start" => "fiscal_year_start october 1",
        "week_start" => "week_start monday",
        "grains" => "grains quarter_hour, hour, day, week, month, quarter, fiscal_year",
        "timezone" => "timezone \"UTC\"",
        "follow" => "follow source",
        "keep" => "keep 7 years",
        "archive" => "archive 40 years",
        "kind" => "kind dashboard | kind subject_area",
        "metrics" => "metrics total_visits, total_referrals",
        "dimensions" => "dimensions geography.clinic, time",
        "grain" => "grain day",
        "drill" => "drill visits (visit_id, visit_date, clinic_code)",
        "unit" => "unit kg | unit \"passengers per hour\"",
        "measure" => {
            "measure count(*) | measure sum(visits.minutes) where visits.kind = 'urgent' \
             | measure total_referrals / total_visits"
        }
        "time" => "time visits.visit_date",
        "by" => "by location.port, time.day",
        "top" => "top 10 by visits.nationality",
        "compare" => "compare previous fiscal_year to date | compare whole previous fiscal_year",
        "buckets" => "buckets visits.wait_minutes [15, 30, 60, 120] | buckets age(visits.opened_at) [24 hours, 72 hours]",
        "per" => "per visits.clinic_day having share(visits.wait_minutes > 60) > 3%",
        "window" => "window to date fiscal_year | window last 28 days",
        "target" => "target month",
        "format" => "format number | format percent | format currency",
        "mart" => "mart operations",
        "marts" => "marts operations, waiting_times",
        "reports" => "reports weekly_visits",
        "scope" => "scope national | scope geography.region = user.region",
        "allow" => "allow drill_down, ad_hoc",
        "min_cell_size" => "min_cell_size 11",
        _ => "see docs/language.md",
    }
}
