//! Where a Postgres image keeps its data, by major version. Up to 17 the official image's data
//! directory is `/var/lib/postgresql/data`, the volume's mount point; from 18 it is
//! `/var/lib/postgresql/<major>/docker`, with the volume mounted at `/var/lib/postgresql`
//! (and the image refuses to start with a volume at the old path).

use super::ImageRef;

/// Where images up to Postgres 17 keep their data, and mount their volume.
pub const LEGACY_DATA_DIR: &str = "/var/lib/postgresql/data";

/// Where images from Postgres 18 on mount their volume; the data is in `<major>/docker` below.
pub const VERSIONED_VOLUME_DIR: &str = "/var/lib/postgresql";

/// The first major whose image keeps its data in `/var/lib/postgresql/<major>/docker`.
pub const FIRST_VERSIONED_MAJOR: u32 = 18;

/// Whether the image is Postgres (`postgres`, `library/postgres`, `REGISTRY/team/postgres`).
pub fn is_postgres(image: &ImageRef) -> bool {
    image.repository.rsplit('/').next() == Some("postgres")
}

/// The major version a Postgres image's tag names: `18`, `18.1`, `17-alpine` → 18, 18, 17.
/// `None` for a tag that names none (`latest`, `alpine`, no tag): the newest major.
pub fn major(image: &ImageRef) -> Option<u32> {
    let tag = image.tag.as_deref()?;
    let digits = tag.find(|c: char| !c.is_ascii_digit()).unwrap_or(tag.len());
    tag[..digits].parse().ok()
}

/// Whether the image keeps its data under `/var/lib/postgresql/<major>/docker`: a Postgres
/// image of major 18 or later, or of no major named (the newest is 18 or later).
pub fn keeps_data_by_major(image: &ImageRef) -> bool {
    is_postgres(image) && major(image).is_none_or(|major| major >= FIRST_VERSIONED_MAJOR)
}

/// Where the image's data volume belongs: [`VERSIONED_VOLUME_DIR`] or [`LEGACY_DATA_DIR`].
pub fn volume_target(image: &ImageRef) -> &'static str {
    if keeps_data_by_major(image) {
        VERSIONED_VOLUME_DIR
    } else {
        LEGACY_DATA_DIR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    #[test]
    fn the_major_comes_from_the_tag() {
        for (text, expected) in [
            ("postgres:18", Some(18)),
            ("postgres:18.1-bookworm", Some(18)),
            ("postgres:17-alpine", Some(17)),
            ("postgres:9.6", Some(9)),
            ("postgres:latest", None),
            ("postgres:alpine", None),
            ("postgres", None),
        ] {
            assert_eq!(major(&image(text)), expected, "{text}");
        }
    }

    #[test]
    fn the_volume_follows_the_major() {
        for (text, target) in [
            ("postgres:18", VERSIONED_VOLUME_DIR),
            ("127.0.0.1:5000/devboot/postgres:18.1", VERSIONED_VOLUME_DIR),
            ("postgres", VERSIONED_VOLUME_DIR),
            ("postgres:17", LEGACY_DATA_DIR),
            ("postgres:16.1", LEGACY_DATA_DIR),
            ("127.0.0.1:5000/devboot/postgres:15", LEGACY_DATA_DIR),
        ] {
            assert_eq!(volume_target(&image(text)), target, "{text}");
        }
        assert!(!keeps_data_by_major(&image("redis:18")), "not Postgres");
        assert!(!keeps_data_by_major(&image("postgis/postgis:18-3.6")));
    }
}
