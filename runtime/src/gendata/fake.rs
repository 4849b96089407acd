//! What gen-data knows without a profile: how to draw (weighted lists, normal and log-normal
//! numbers), a day's traffic curve, fake personal data, and the kind of value a column
//! probably holds from its type, name and personal-data class (`*_minutes` a duration,
//! `*_usd` an amount, a `name` column a person's name).
//!
//! Nothing here belongs to one project: a project's own weights, catalogs and volumes are its
//! profile (`gendata.yaml`). `docs/gendata.md` lists these defaults.
//!
//! Personal data is fake by construction: names from short lists of common given and family
//! names, document numbers with a `FAKE` prefix, telephone numbers in the 555-01xx range kept
//! for fiction, addresses on `Example` streets, e-mail at `example.invalid`.

use super::Rng;
use rand::RngExt as _;

/// Picks from a weighted list.
pub fn weighted<'a, T>(rng: &mut Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// The index of a weighted pick.
pub fn weighted_index(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Picks uniformly.
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with the given median and spread (sigma of the log).
pub fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A number in `[0, 1)` fixed by `text` (FNV-1a): the same value, the same draw.
pub fn unit_hash(text: &str) -> f64 {
    let hash = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash >> 11) as f64 / (1_u64 << 53) as f64
}

/// Relative traffic by hour of day, midnight first: quiet at night, busy in the working day
/// with peaks late in the morning and early in the evening.
pub const HOURS: [f64; 24] = [
    0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.2, 1.5, 1.6, 1.7, 1.8, 1.7, 1.6, 1.6, 1.7, 1.9, 2.0,
    1.8, 1.5, 1.2, 0.9, 0.6, 0.4,
];

/// Relative traffic by day of week, Monday first.
pub const WEEKDAYS: [f64; 7] = [1.0, 0.9, 0.9, 1.0, 1.2, 1.15, 1.05];

pub const GIVEN_NAMES: &[&str] = &[
    "James", "Maria", "John", "Ana", "Robert", "Linda", "Michael", "Sofia", "David", "Laura",
    "Jose", "Emma", "Carlos", "Olivia", "Daniel", "Lucia", "Wei", "Mei", "Raj", "Priya", "Ahmed",
    "Fatima", "Pierre", "Claire", "Hans", "Anna", "Kenji", "Yuki", "Luis", "Carmen",
];

pub const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Garcia",
    "Johnson",
    "Martinez",
    "Brown",
    "Rodriguez",
    "Jones",
    "Lopez",
    "Miller",
    "Hernandez",
    "Davis",
    "Gonzalez",
    "Wilson",
    "Perez",
    "Anderson",
    "Sanchez",
    "Taylor",
    "Ramirez",
    "Thomas",
    "Flores",
    "Lee",
    "Wang",
    "Chen",
    "Kumar",
    "Patel",
    "Nguyen",
    "Kim",
    "Muller",
    "Martin",
    "Sato",
];

pub const CITIES: &[&str] = &[
    "Springfield",
    "Riverside",
    "Fairview",
    "Franklin",
    "Greenville",
    "Madison",
    "Clinton",
    "Georgetown",
    "Salem",
    "Oakdale",
];

pub const STREETS: &[&str] =
    &["Example St", "Sample Ave", "Placeholder Rd", "Fictional Blvd", "Test Ln", "Demo Way"];

/// Nationalities and citizenships (ISO 3166 alpha-2), equally likely. A profile weights its
/// own (`list:` or `weights:` on the column).
pub const COUNTRIES: &[&str] = &[
    "US", "CA", "MX", "GB", "IN", "CN", "DE", "JP", "BR", "FR", "KR", "CO", "PH", "IT", "ES", "AU",
    "NG", "EG", "ZA", "AR",
];

const FREE_TEXT: &[&str] = &[
    "Synthetic narrative: routine entry, no further remarks.",
    "Synthetic narrative: details reviewed and recorded.",
    "Synthetic narrative: referred for further review per standard procedure.",
    "Synthetic narrative: items listed and photographed.",
    "Synthetic narrative: follow-up scheduled with the responsible office.",
    "Synthetic narrative: information received from a partner organization.",
];

/// A fake person's name.
pub fn person_name(rng: &mut Rng) -> String {
    format!("{} {}", pick(rng, GIVEN_NAMES), pick(rng, FAMILY_NAMES))
}

/// A fake address: numbered `Example`-style streets, a generic town, state `ZZ`, ZIP `00xxx`.
pub fn address(rng: &mut Rng) -> String {
    format!(
        "{} {}, {}, ZZ 00{:03}",
        rng.random_range(1..9999),
        pick(rng, STREETS),
        pick(rng, CITIES),
        rng.random_range(0..1000)
    )
}

/// A phone number in the 555-0100..555-0199 range reserved for fiction.
pub fn phone(rng: &mut Rng) -> String {
    format!("+1-{}-555-01{:02}", rng.random_range(201..990), rng.random_range(0..100))
}

pub fn email(rng: &mut Rng) -> String {
    format!(
        "{}.{}{}@example.invalid",
        pick(rng, GIVEN_NAMES).to_lowercase(),
        pick(rng, FAMILY_NAMES).to_lowercase(),
        rng.random_range(1..999)
    )
}

/// A document number that cannot be mistaken for a real one.
pub fn fake_document(rng: &mut Rng, kind: &str) -> String {
    format!("FAKE-{kind}-{:08}", rng.random_range(0..100_000_000u32))
}

pub fn free_text(rng: &mut Rng) -> String {
    (*pick(rng, FREE_TEXT)).to_owned()
}

/// The kind of value a column probably holds, from its personal-data class, name and type,
/// for columns the profile says nothing about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    // Personal data (always fake).
    PersonName,
    NameList,
    Address,
    Phone,
    Email,
    /// A document number: `FAKE-<kind>-...`.
    Document(String),
    EmployeeId,
    BirthDate,
    Gender,
    Nationality,
    Coordinates,
    LicensePlate,
    BookingReference,
    Seat,
    FreeText,
    // Numbers by the unit in their name.
    Minutes,
    Seconds,
    Hours,
    Money,
    Kilograms,
    Quantity,
    Level,
    SmallCount,
}

/// The kind of a column, by its name, type and personal-data classes; `None`: generic by
/// type.
pub fn kind(name: &str, ty: &str, pii: &[String]) -> Option<Kind> {
    let has = |class: &str| pii.iter().any(|p| p == class);
    let ends = |suffix: &str| name.ends_with(suffix);
    let text = ty == "string";
    let number = ty == "int" || ty == "decimal";
    use Kind::*;
    Some(match () {
        // The personal-data classes first: a personal column never gets another kind of value.
        _ if has("name") && (ends("names") || name == "aliases" || name == "associates") => {
            NameList
        }
        _ if has("name") => PersonName,
        _ if has("address") => Address,
        _ if has("phone") => Phone,
        _ if has("email") => Email,
        _ if has("birth_date") => BirthDate,
        _ if has("gender") => Gender,
        _ if has("nationality") && text => Nationality,
        _ if has("employee_id") => EmployeeId,
        _ if has("biometric") || has("government_id") || has("document_number") => {
            Document(document_kind(name))
        }
        _ if has("location") => Coordinates,
        _ if has("vehicle_id") => LicensePlate,
        _ if has("travel_record") && name.contains("seat") => Seat,
        _ if has("travel_record") => BookingReference,
        _ if !pii.is_empty() && text => FreeText,
        _ if number && ends("_minutes") => Minutes,
        _ if number && ends("_seconds") => Seconds,
        _ if number && ends("_hours") => Hours,
        _ if number
            && (ends("_usd")
                || ends("_amount")
                || ends("_cost")
                || ends("_price")
                || ends("_value")) =>
        {
            Money
        }
        _ if number && ends("_kg") => Kilograms,
        _ if ty == "int" && (name == "quantity" || ends("_quantity")) => Quantity,
        _ if ty == "int" && ends("_level") => Level,
        _ if ty == "int" => SmallCount,
        _ => return None,
    })
}

/// `passport_number` → `PASSPORT`, `tax_id` → `TAX`: what a fake document number says it is.
fn document_kind(name: &str) -> String {
    let base = ["_number", "_no", "_id"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|b| !b.is_empty())
        .unwrap_or(name);
    let kind: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '-' })
        .collect();
    if kind.is_empty() {
        "DOC".to_owned()
    } else {
        kind
    }
}

impl Kind {
    /// How often a nullable column of this kind is left empty.
    pub fn null_share(&self) -> f64 {
        match self {
            Kind::Minutes | Kind::Seconds => 0.03,
            Kind::NameList => 0.4,
            _ => 0.05,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_personal_data_then_units() {
        let pii = |c: &str| vec![c.to_owned()];
        assert_eq!(kind("x", "string", &pii("name")), Some(Kind::PersonName));
        assert_eq!(kind("crew_names", "string", &pii("name")), Some(Kind::NameList));
        assert_eq!(
            kind("passport_number", "string", &pii("document_number")),
            Some(Kind::Document("PASSPORT".to_owned()))
        );
        assert_eq!(kind("exam_minutes", "int", &[]), Some(Kind::Minutes));
        assert_eq!(kind("fee_usd", "decimal", &[]), Some(Kind::Money));
        assert_eq!(kind("visits", "int", &[]), Some(Kind::SmallCount));
        assert_eq!(kind("note", "string", &[]), None);
        // A column of personal data never gets a number's kind.
        assert_eq!(kind("wait_minutes", "string", &pii("free_text")), Some(Kind::FreeText));
    }
}
