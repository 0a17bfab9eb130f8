//! `devboot db upgrade`, decided and checked without side effects: whether the data volume
//! needs an upgrade at all ([`decide`]), which image runs the old major ([`old_image`]), the
//! names of what the upgrade creates ([`Upgrade`]), and whether the restored data kept every
//! row ([`RowCounts`], [`compare`]). The engine work is `engine::upgrade`'s; the order of the
//! steps and the rollback are `commands::db`'s.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::model::ImageRef;

/// What the data volume and the profile's image say about an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The volume holds no Postgres data yet: `up` initialises it with the profile's major.
    NoData,
    /// The data is of the major the image runs.
    Current { major: u32 },
    /// The data is newer than the image: only pinning the newer image helps.
    Downgrade { data: u32, image: u32 },
    /// The data is older: dump it with `from`'s server, restore it into `to`'s.
    Upgrade { from: u32, to: u32 },
}

/// Decides from the volume's `PG_VERSION` (`none` when there is none) and the image's major,
/// as `engine::postgres::majors_script` reads them.
pub fn decide(data: &str, image: &str) -> Result<Decision, String> {
    let data = data.trim();
    if data == "none" || data.is_empty() {
        return Ok(Decision::NoData);
    }
    let major = |text: &str, what: &str| {
        text.trim()
            .parse::<u32>()
            .map_err(|_| format!("{what} `{}` is not a Postgres major version", text.trim()))
    };
    let data = major(data, "the data's PG_VERSION")?;
    let image = major(image, "the image's major version")?;
    Ok(match data.cmp(&image) {
        std::cmp::Ordering::Equal => Decision::Current { major: data },
        std::cmp::Ordering::Greater => Decision::Downgrade { data, image },
        std::cmp::Ordering::Less => Decision::Upgrade {
            from: data,
            to: image,
        },
    })
}

/// The image that runs the old major: `from` when the developer named one, else the profile's
/// image with the old major as its tag (`postgres:17` → `postgres:15`, `postgres:17.2-alpine`
/// → `postgres:15-alpine`, `postgres` → `postgres:15`). A digest pins the new image, so it is
/// dropped.
pub fn old_image(profile: &ImageRef, from: Option<&ImageRef>, major: u32) -> ImageRef {
    if let Some(from) = from {
        return from.clone();
    }
    let tag = profile.tag.as_deref().unwrap_or("latest");
    let version_end = tag
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(tag.len());
    let tag = match (&tag[..version_end], &tag[version_end..]) {
        ("", "latest") => major.to_string(),
        ("", word) => format!("{major}-{word}"),
        (_, rest) => format!("{major}{rest}"),
    };
    ImageRef {
        tag: Some(tag),
        digest: None,
        ..profile.clone()
    }
}

/// The upgrade of one data volume, and the names of what it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub from: u32,
    pub to: u32,
    pub old_image: ImageRef,
    pub new_image: ImageRef,
    /// The snapshot that keeps the old data until `devboot db upgrade --finish`.
    pub snapshot: String,
}

impl Upgrade {
    pub fn new(from: u32, to: u32, old_image: ImageRef, new_image: ImageRef) -> Self {
        Self {
            snapshot: format!("postgres-{from}-before-upgrade"),
            from,
            to,
            old_image,
            new_image,
        }
    }

    /// The steps, as `--help` and the first lines of the command say them.
    pub fn steps(&self, volume: &str) -> Vec<String> {
        vec![
            format!(
                "snapshot `{volume}` as `{}` (kept until `devboot db upgrade --finish`)",
                self.snapshot
            ),
            format!(
                "dump every database with Postgres {} ({})",
                self.from, self.old_image
            ),
            format!(
                "restore into a new cluster of Postgres {} ({})",
                self.to, self.new_image
            ),
            "compare the row counts of every table in every database".to_owned(),
            format!("swap the new cluster into `{volume}`"),
        ]
    }
}

/// Exact row counts: per database, per table (`schema.table`, quoted as SQL quotes them).
pub type RowCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// The marker before a database's row counts in a helper's output.
pub const ROWS_MARKER: &str = "devboot-rows ";

#[derive(Deserialize)]
struct DatabaseRows {
    database: String,
    tables: BTreeMap<String, u64>,
}

/// Reads the lines `devboot-rows {"database": …, "tables": {…}}` among a helper's output.
pub fn parse_rows(lines: &[String]) -> Result<RowCounts, String> {
    let mut counts = RowCounts::new();
    for line in lines {
        let Some(json) = line.strip_prefix(ROWS_MARKER) else {
            continue;
        };
        let rows: DatabaseRows = serde_json::from_str(json)
            .map_err(|e| format!("unreadable row counts ({e}): {json}"))?;
        counts.insert(rows.database, rows.tables);
    }
    Ok(counts)
}

/// A table whose rows differ after the restore (`None`: the table or database is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub database: String,
    pub table: Option<String>,
    pub before: Option<u64>,
    pub after: Option<u64>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |c: Option<u64>| c.map_or_else(|| "missing".to_owned(), |c| c.to_string());
        match &self.table {
            None => write!(
                f,
                "database {}: {} before, {} after",
                self.database,
                if self.before.is_some() {
                    "there"
                } else {
                    "missing"
                },
                if self.after.is_some() {
                    "there"
                } else {
                    "missing"
                },
            ),
            Some(table) => write!(
                f,
                "{}: {table}: {} rows before, {} after",
                self.database,
                count(self.before),
                count(self.after)
            ),
        }
    }
}

/// Every table of every database `before` holds must hold as many rows `after`. Tables that
/// only exist after (made by an extension's `CREATE EXTENSION`, say) hold no old data and do
/// not count; databases the new cluster made for itself (`postgres`) neither.
pub fn compare(before: &RowCounts, after: &RowCounts) -> Vec<Difference> {
    let mut differences = Vec::new();
    for (database, tables) in before {
        let Some(after_tables) = after.get(database) else {
            differences.push(Difference {
                database: database.clone(),
                table: None,
                before: Some(0),
                after: None,
            });
            continue;
        };
        for (table, &rows) in tables {
            let restored = after_tables.get(table).copied();
            if restored != Some(rows) {
                differences.push(Difference {
                    database: database.clone(),
                    table: Some(table.clone()),
                    before: Some(rows),
                    after: restored,
                });
            }
        }
    }
    differences
}

/// The total rows and tables counted, for the summary.
pub fn totals(counts: &RowCounts) -> (u64, usize) {
    counts
        .values()
        .flat_map(BTreeMap::values)
        .fold((0, 0), |(rows, tables), &n| (rows + n, tables + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    #[test]
    fn the_decision_follows_the_two_majors() {
        assert_eq!(decide("none", "17"), Ok(Decision::NoData));
        assert_eq!(decide("17\n", "17"), Ok(Decision::Current { major: 17 }));
        assert_eq!(
            decide("15", "17"),
            Ok(Decision::Upgrade { from: 15, to: 17 })
        );
        assert_eq!(
            decide("18", "17"),
            Ok(Decision::Downgrade {
                data: 18,
                image: 17
            })
        );
        assert!(decide("15", "").unwrap_err().contains("image"));
        assert!(decide("9.6", "17").unwrap_err().contains("PG_VERSION"));
    }

    #[test]
    fn the_old_image_is_the_profiles_with_the_old_major_or_the_one_named() {
        for (profile, expected) in [
            ("postgres:17", "postgres:15"),
            ("postgres:17.2", "postgres:15"),
            ("postgres:17.2-alpine", "postgres:15-alpine"),
            ("postgres:17-bookworm", "postgres:15-bookworm"),
            ("postgres", "postgres:15"),
            ("postgres:latest", "postgres:15"),
            ("postgres:alpine", "postgres:15-alpine"),
            (
                "127.0.0.1:5000/devboot/postgres:17",
                "127.0.0.1:5000/devboot/postgres:15",
            ),
            (
                &format!("postgres:17@sha256:{}", "a".repeat(64)),
                "postgres:15",
            ),
        ] {
            assert_eq!(
                old_image(&image(profile), None, 15).to_string(),
                expected,
                "{profile}"
            );
        }
        let named = image("team/pg:15-postgis");
        assert_eq!(old_image(&image("postgres:17"), Some(&named), 15), named);
    }

    fn counts(text: &[(&str, &[(&str, u64)])]) -> RowCounts {
        text.iter()
            .map(|(db, tables)| {
                (
                    (*db).to_owned(),
                    tables.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn row_counts_are_read_from_the_marked_lines_only() {
        let lines = [
            "2026-12-07 LOG:  database system is ready".to_owned(),
            r#"devboot-rows {"database" : "app", "tables" : { "\"Odd\".\"T\"" : 7, "public.notes" : 1000 }}"#.to_owned(),
            r#"devboot-rows {"database" : "postgres", "tables" : {}}"#.to_owned(),
        ];
        assert_eq!(
            parse_rows(&lines).unwrap(),
            counts(&[
                ("app", &[("\"Odd\".\"T\"", 7), ("public.notes", 1000)]),
                ("postgres", &[]),
            ])
        );
        assert!(parse_rows(&["devboot-rows {".to_owned()]).is_err());
    }

    #[test]
    fn every_table_must_keep_its_rows() {
        let before = counts(&[
            ("app", &[("public.a", 3), ("public.b", 0)]),
            ("other", &[("public.c", 1)]),
        ]);
        assert!(compare(&before, &before).is_empty());
        // Tables only the new cluster has do not count.
        let mut more = before.clone();
        more.get_mut("app")
            .unwrap()
            .insert("public.spatial_ref_sys".into(), 8500);
        assert!(compare(&before, &more).is_empty());

        let after = counts(&[("app", &[("public.a", 2)])]);
        let differences: Vec<String> = compare(&before, &after)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            differences,
            [
                "app: public.a: 3 rows before, 2 after",
                "app: public.b: 0 rows before, missing after",
                "database other: there before, missing after",
            ]
        );
        assert_eq!(totals(&before), (4, 3));
    }

    #[test]
    fn the_plan_names_its_snapshot_and_steps() {
        let upgrade = Upgrade::new(15, 17, image("postgres:15"), image("postgres:17"));
        assert_eq!(upgrade.snapshot, "postgres-15-before-upgrade");
        let steps = upgrade.steps("db-data");
        assert_eq!(steps.len(), 5);
        assert!(steps[0].contains("postgres-15-before-upgrade"), "{steps:?}");
        assert!(steps[1].contains("postgres:15"), "{steps:?}");
    }
}
