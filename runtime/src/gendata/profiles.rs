//! The domain profiles of `tally gen-data`: how a column's values are drawn, chosen by the
//! column's name, type and PII class, with generic generators by type as the fallback; the
//! reference catalogs a dimension's members come from; and the fake personal data.
//!
//! Everything here is data, not code per source: a new source whose columns are named like
//! these gets the same distributions. `docs/runtime.md` (`## tally gen-data`) lists the
//! profiles.
//!
//! Personal data is fake by construction: names from short lists of common given and family
//! names, document numbers with a `FAKE` prefix, telephone numbers in the 555-01xx range kept
//! for fiction, addresses on `Example` streets, e-mail at `example.invalid`.

use super::Rng;
use rand::RngExt as _;

// ---------------------------------------------------------------------------------------------
// Reference catalogs: the members a dimension level gets when its supplying source's key column
// is named like one of these. Codes and names are illustrative, not an official list.

/// One catalog row: column name → value.
pub type CatalogRow = &'static [(&'static str, &'static str)];

/// A catalog: its rows and each row's traffic weight (how busy the member is).
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    pub key_column: &'static str,
    pub rows: &'static [(CatalogRow, f64)],
}

macro_rules! port {
    ($code:literal, $name:literal, $mode:literal, $fo:literal, $fo_name:literal, $w:literal) => {
        (
            &[
                ("port_code", $code),
                ("port_name", $name),
                ("port_mode", $mode),
                ("field_office_code", $fo),
                ("field_office_name", $fo_name),
            ] as CatalogRow,
            $w,
        )
    };
}

/// Ports of entry and their field offices: a few very busy airports and land ports, many small
/// ones (weights are relative traffic).
pub const PORTS: Catalog = Catalog {
    key_column: "port_code",
    rows: &[
        port!("4701", "New York JFK Airport", "air", "NYFO", "New York Field Office", 30.0),
        port!("4601", "Newark Airport", "air", "NYFO", "New York Field Office", 12.0),
        port!("1001", "New York Seaport", "sea", "NYFO", "New York Field Office", 3.0),
        port!("2720", "Los Angeles Airport", "air", "LAFO", "Los Angeles Field Office", 22.0),
        port!(
            "2704",
            "Los Angeles/Long Beach Seaport",
            "sea",
            "LAFO",
            "Los Angeles Field Office",
            6.0
        ),
        port!("5206", "Miami Airport", "air", "MIFO", "Miami Field Office", 20.0),
        port!("5201", "Miami Seaport", "sea", "MIFO", "Miami Field Office", 5.0),
        port!("5203", "Port Everglades", "sea", "MIFO", "Miami Field Office", 3.0),
        port!("3901", "Chicago O'Hare Airport", "air", "CHFO", "Chicago Field Office", 12.0),
        port!("1704", "Atlanta Airport", "air", "ATFO", "Atlanta Field Office", 11.0),
        port!("5309", "Houston Airport", "air", "HOFO", "Houston Field Office", 10.0),
        port!("5301", "Houston Seaport", "sea", "HOFO", "Houston Field Office", 4.0),
        port!("2801", "San Francisco Airport", "air", "SFFO", "San Francisco Field Office", 10.0),
        port!("5501", "Dallas/Fort Worth Airport", "air", "HOFO", "Houston Field Office", 9.0),
        port!("0417", "Boston Logan Airport", "air", "BOFO", "Boston Field Office", 6.0),
        port!("3029", "Seattle Airport", "air", "SEFO", "Seattle Field Office", 6.0),
        port!("5401", "Washington Dulles Airport", "air", "BAFO", "Baltimore Field Office", 7.0),
        port!("1303", "Baltimore Seaport", "sea", "BAFO", "Baltimore Field Office", 2.0),
        port!("2504", "San Ysidro", "land", "SDFO", "San Diego Field Office", 28.0),
        port!("2506", "Otay Mesa", "land", "SDFO", "San Diego Field Office", 12.0),
        port!("2503", "Calexico", "land", "SDFO", "San Diego Field Office", 8.0),
        port!("2402", "El Paso", "land", "EPFO", "El Paso Field Office", 18.0),
        port!("2304", "Laredo", "land", "LRFO", "Laredo Field Office", 16.0),
        port!("2305", "Hidalgo/Pharr", "land", "LRFO", "Laredo Field Office", 9.0),
        port!("2301", "Brownsville", "land", "LRFO", "Laredo Field Office", 7.0),
        port!("2604", "Nogales", "land", "TCFO", "Tucson Field Office", 8.0),
        port!("2608", "San Luis", "land", "TCFO", "Tucson Field Office", 5.0),
        port!("3801", "Detroit", "land", "DEFO", "Detroit Field Office", 9.0),
        port!("3802", "Port Huron", "land", "DEFO", "Detroit Field Office", 3.0),
        port!("0901", "Buffalo/Niagara Falls", "land", "BUFO", "Buffalo Field Office", 7.0),
        port!("0712", "Champlain", "land", "BUFO", "Buffalo Field Office", 3.0),
        port!("3004", "Blaine", "land", "SEFO", "Seattle Field Office", 6.0),
        port!("3310", "Sweetgrass", "land", "SEFO", "Seattle Field Office", 0.8),
        port!("0115", "Calais", "land", "BOFO", "Boston Field Office", 0.7),
        port!("2002", "New Orleans Seaport", "sea", "NOFO", "New Orleans Field Office", 2.0),
        port!("1801", "Tampa", "sea", "TAFO", "Tampa Field Office", 1.5),
        port!("3205", "Honolulu Airport", "air", "SFFO", "San Francisco Field Office", 3.0),
        port!("4909", "San Juan Airport", "air", "SJFO", "San Juan Field Office", 3.0),
        port!("3401", "Pembina", "land", "CHFO", "Chicago Field Office", 0.6),
        port!("2408", "Columbus NM", "land", "EPFO", "El Paso Field Office", 0.5),
    ],
};

macro_rules! station {
    ($code:literal, $name:literal, $sector:literal, $sector_name:literal, $w:literal) => {
        (
            &[
                ("station_code", $code),
                ("station_name", $name),
                ("sector_code", $sector),
                ("sector_name", $sector_name),
            ] as CatalogRow,
            $w,
        )
    };
}

/// Border Patrol stations and sectors; the southwest border sectors are the busiest.
pub const STATIONS: Catalog = Catalog {
    key_column: "station_code",
    rows: &[
        station!("SDC-CHU", "Chula Vista", "SDC", "San Diego Sector", 8.0),
        station!("SDC-IMB", "Imperial Beach", "SDC", "San Diego Sector", 7.0),
        station!("SDC-BRF", "Brown Field", "SDC", "San Diego Sector", 6.0),
        station!("ELC-CAX", "Calexico", "ELC", "El Centro Sector", 4.0),
        station!("YUM-WTN", "Wellton", "YUM", "Yuma Sector", 5.0),
        station!("TCA-NGL", "Nogales", "TCA", "Tucson Sector", 7.0),
        station!("TCA-AJO", "Ajo", "TCA", "Tucson Sector", 4.0),
        station!("TCA-CAS", "Casa Grande", "TCA", "Tucson Sector", 3.0),
        station!("EPT-SMT", "Santa Teresa", "EPT", "El Paso Sector", 6.0),
        station!("EPT-LRU", "Las Cruces", "EPT", "El Paso Sector", 3.0),
        station!("BBT-ALP", "Alpine", "BBT", "Big Bend Sector", 0.8),
        station!("DRT-EGT", "Eagle Pass", "DRT", "Del Rio Sector", 7.0),
        station!("DRT-DRS", "Del Rio", "DRT", "Del Rio Sector", 5.0),
        station!("LRT-LRN", "Laredo North", "LRT", "Laredo Sector", 5.0),
        station!("LRT-ZAP", "Zapata", "LRT", "Laredo Sector", 2.0),
        station!("RGV-MCS", "McAllen", "RGV", "Rio Grande Valley Sector", 10.0),
        station!("RGV-WSL", "Weslaco", "RGV", "Rio Grande Valley Sector", 8.0),
        station!("RGV-BRP", "Brownsville", "RGV", "Rio Grande Valley Sector", 6.0),
        station!("BLW-BLS", "Blaine", "BLW", "Blaine Sector", 0.6),
        station!("SPW-SPK", "Spokane", "SPW", "Spokane Sector", 0.3),
        station!("HVM-HAV", "Havre", "HVM", "Havre Sector", 0.2),
        station!("GFN-GFK", "Grand Forks", "GFN", "Grand Forks Sector", 0.2),
        station!("DTM-DET", "Detroit", "DTM", "Detroit Sector", 0.5),
        station!("BUN-NIA", "Niagara Falls", "BUN", "Buffalo Sector", 0.4),
        station!("SWB-SWT", "Swanton", "SWB", "Swanton Sector", 0.6),
        station!("HTM-HOU", "Houlton", "HTM", "Houlton Sector", 0.2),
        station!("MIP-MIA", "Miami", "MIP", "Miami Sector", 1.0),
        station!("NOL-NOL", "New Orleans", "NOL", "New Orleans Sector", 0.5),
        station!("RMY-AGU", "Aguadilla", "RMY", "Ramey Sector", 0.4),
    ],
};

macro_rules! mode {
    ($code:literal, $name:literal, $group:literal, $w:literal) => {
        (&[("mode_code", $code), ("mode_name", $name), ("mode_group", $group)] as CatalogRow, $w)
    };
}

/// The CBP mode of transportation codes of manifests and entries.
pub const TRANSPORT_MODES: Catalog = Catalog {
    key_column: "mode_code",
    rows: &[
        mode!("10", "Vessel, container", "vessel", 30.0),
        mode!("11", "Vessel, non-container", "vessel", 6.0),
        mode!("20", "Rail, container", "rail", 4.0),
        mode!("21", "Rail, non-container", "rail", 3.0),
        mode!("30", "Truck, container", "truck", 8.0),
        mode!("31", "Truck, non-container", "truck", 22.0),
        mode!("40", "Air, container", "air", 5.0),
        mode!("41", "Air, non-container", "air", 12.0),
        mode!("50", "Mail", "mail", 4.0),
        mode!("60", "Passenger, hand carried", "other", 1.5),
        mode!("70", "Fixed transport (pipeline, power line)", "other", 0.5),
    ],
};

macro_rules! cee {
    ($code:literal, $name:literal, $industry:literal, $w:literal) => {
        (&[("cee_code", $code), ("cee_name", $name), ("industry", $industry)] as CatalogRow, $w)
    };
}

/// The ten Centers of Excellence and Expertise.
pub const CEES: Catalog = Catalog {
    key_column: "cee_code",
    rows: &[
        cee!("AGR", "Agriculture & Prepared Products", "agriculture", 1.0),
        cee!("AFT", "Apparel, Footwear & Textiles", "apparel", 1.4),
        cee!("AAE", "Automotive & Aerospace", "automotive", 1.2),
        cee!("BMT", "Base Metals", "metals", 0.8),
        cee!("CPM", "Consumer Products & Mass Merchandising", "consumer_products", 1.6),
        cee!("ELC", "Electronics", "electronics", 1.5),
        cee!("IMM", "Industrial & Manufacturing Materials", "industrial", 1.0),
        cee!("MCH", "Machinery", "machinery", 1.1),
        cee!("PNG", "Petroleum, Natural Gas & Minerals", "energy", 0.7),
        cee!("PHC", "Pharmaceuticals, Health & Chemicals", "pharmaceuticals", 1.0),
    ],
};

/// The catalog for a supplying source whose key column is `key_column`, if there is one.
pub fn catalog_for(key_column: &str) -> Option<&'static Catalog> {
    [&PORTS, &STATIONS, &TRANSPORT_MODES, &CEES].into_iter().find(|c| c.key_column == key_column)
}

// ---------------------------------------------------------------------------------------------
// Weighted word lists.

/// Citizenship / nationality (ISO 3166 alpha-2, as the definitions compare them: `e3.nationality = 'MX'`), weighted like arrivals at U.S. ports.
pub const COUNTRIES: &[(&str, f64)] = &[
    ("US", 45.0),
    ("MX", 18.0),
    ("CA", 8.0),
    ("GB", 3.0),
    ("IN", 2.5),
    ("CN", 2.0),
    ("DE", 1.8),
    ("JP", 1.5),
    ("BR", 1.4),
    ("FR", 1.3),
    ("KR", 1.2),
    ("CO", 1.2),
    ("DO", 1.1),
    ("PH", 1.0),
    ("GT", 1.0),
    ("HN", 0.9),
    ("SV", 0.8),
    ("CU", 0.6),
    ("VE", 0.6),
    ("IT", 0.9),
    ("ES", 0.8),
    ("AU", 0.7),
    ("NG", 0.4),
    ("EC", 0.5),
    ("HT", 0.4),
];

/// Apprehended subjects' nationalities: mostly from the Americas.
pub const APPREHENSION_COUNTRIES: &[(&str, f64)] = &[
    ("MX", 50.0),
    ("GT", 12.0),
    ("HN", 10.0),
    ("SV", 5.0),
    ("VE", 5.0),
    ("CU", 4.0),
    ("CO", 3.0),
    ("EC", 3.0),
    ("NI", 2.5),
    ("HT", 1.5),
    ("IN", 1.5),
    ("CN", 1.0),
    ("BR", 1.0),
    ("PE", 0.8),
    ("RO", 0.3),
    ("TR", 0.3),
    ("SY", 0.1),
    ("AF", 0.1),
];

/// Citizenships counted as special interest countries for `special_interest_*` flags.
pub const SPECIAL_INTEREST: &[&str] = &["SY", "AF", "TR"];

/// Countries of origin of imported goods (ISO alpha-2).
pub const ORIGIN_COUNTRIES: &[(&str, f64)] = &[
    ("CN", 25.0),
    ("MX", 18.0),
    ("CA", 12.0),
    ("DE", 5.0),
    ("JP", 5.0),
    ("VN", 5.0),
    ("KR", 4.0),
    ("IN", 3.0),
    ("TW", 3.0),
    ("IT", 2.5),
    ("IE", 2.0),
    ("GB", 2.0),
    ("FR", 2.0),
    ("TH", 1.5),
    ("MY", 1.5),
    ("CH", 1.5),
    ("BR", 1.0),
];

pub const FOREIGN_PORTS: &[(&str, f64)] = &[
    ("Shanghai", 12.0),
    ("Shenzhen (Yantian)", 8.0),
    ("Ningbo", 6.0),
    ("Busan", 5.0),
    ("Singapore", 5.0),
    ("Rotterdam", 4.0),
    ("Hong Kong", 4.0),
    ("Antwerp", 3.0),
    ("Hamburg", 2.5),
    ("Kaohsiung", 2.0),
    ("Yokohama", 2.0),
    ("Colon", 1.5),
    ("Manzanillo", 1.5),
    ("Le Havre", 1.0),
];

/// Container Security Initiative ports among [`FOREIGN_PORTS`].
pub const CSI_PORTS: &[&str] = &[
    "Shanghai",
    "Shenzhen (Yantian)",
    "Busan",
    "Singapore",
    "Rotterdam",
    "Hong Kong",
    "Antwerp",
    "Hamburg",
    "Yokohama",
];

pub const HTS_HEADINGS: &[(&str, f64)] = &[
    ("8471", 10.0),
    ("8517", 9.0),
    ("8703", 8.0),
    ("8708", 6.0),
    ("3004", 6.0),
    ("2709", 5.0),
    ("6204", 4.0),
    ("6110", 4.0),
    ("9403", 4.0),
    ("8528", 3.0),
    ("6403", 3.0),
    ("9503", 3.0),
    ("0803", 2.0),
    ("2204", 1.5),
    ("7208", 1.5),
];

pub const CARRIERS: &[(&str, f64)] = &[
    ("AA", 14.0),
    ("UA", 13.0),
    ("DL", 13.0),
    ("BA", 5.0),
    ("LH", 4.0),
    ("AF", 3.5),
    ("AM", 4.0),
    ("AC", 4.0),
    ("B6", 4.0),
    ("EK", 2.0),
    ("JL", 2.0),
    ("KL", 2.0),
    ("CM", 2.0),
    ("AV", 2.0),
    ("NK", 2.5),
];

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

const FREE_TEXT: &[&str] = &[
    "Synthetic narrative: routine inspection, no further remarks.",
    "Synthetic narrative: subject cooperative; documents reviewed.",
    "Synthetic narrative: referred for additional review per standard procedure.",
    "Synthetic narrative: items inventoried and photographed.",
    "Synthetic narrative: follow-up scheduled with the responsible office.",
    "Synthetic narrative: information received from a partner agency.",
];

// ---------------------------------------------------------------------------------------------
// Drawing values.

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
/// A number in `[0, 1)` fixed by `text` (FNV-1a): the same flight, the same draw.
pub fn unit_hash(text: &str) -> f64 {
    let hash = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash >> 11) as f64 / (1_u64 << 53) as f64
}

pub fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Relative traffic by hour of day (UTC taken as local): quiet at night, peaks late morning
/// and early evening, when flights bank and commuters cross.
pub const HOURLY_TRAFFIC: [f64; 24] = [
    0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.2, 1.5, 1.6, 1.7, 1.8, 1.7, 1.6, 1.6, 1.7, 1.9, 2.0,
    1.8, 1.5, 1.2, 0.9, 0.6, 0.4,
];

/// Relative traffic by day of week, Monday first.
pub const WEEKDAY_TRAFFIC: [f64; 7] = [1.0, 0.9, 0.9, 1.0, 1.2, 1.15, 1.05];

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

/// The class of value a column holds, from its name (and PII class), for the columns whose
/// name says more than its type. Checked in order; the first match wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    // Personal data (always fake).
    PersonName,
    NameList,
    Address,
    Phone,
    Email,
    Document(&'static str),
    EmployeeId,
    BirthDate,
    Gender,
    Nationality,
    GpsPosition,
    LicensePlate,
    PnrLocator,
    Seat,
    FreeText,
    // Travel, trade, enforcement.
    FlightId,
    Carrier,
    Terminal,
    CountryOfOrigin,
    ForeignPort,
    HtsHeading,
    ClassOfAdmission,
    ResultCode,
    Disposition,
    AlienType,
    IncidentType,
    MoirCategory,
    EducationLevel,
    DeferralReason,
    AuditAction,
    AuditObject,
    AuditParameters,
    PayPeriod,
    // Numbers.
    WaitMinutes,
    DurationMinutes,
    ProcessingSeconds,
    DrugWeightKg,
    CurrencyUsd,
    EnteredValueUsd,
    DutyUsd,
    OvertimeUsd,
    PremiumPayUsd,
    OvertimeHours,
    LeaveHours,
    OvertimeCapUsd,
    FlightHours,
    SmallCount,
    Occupants,
    Level,
    // Identifiers of other things (not keys of a source).
    Code(&'static str),
}

/// The profile for a column, by its name and PII classes; `None`: generic by type.
pub fn profile(name: &str, ty: &str, pii: &[String]) -> Option<Profile> {
    let has = |class: &str| pii.iter().any(|p| p == class);
    let ends = |suffix: &str| name.ends_with(suffix);
    let text = ty == "string";
    use Profile::*;
    Some(match () {
        // The PII classes first: a personal column never gets a value from another profile.
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
        _ if has("biometric") => Document("FIN"),
        _ if has("government_id") => Document("TAX"),
        _ if has("document_number") => Document(document_kind(name)),
        _ if has("location") => GpsPosition,
        _ if has("vehicle_id") => LicensePlate,
        _ if has("travel_record") && name.contains("seat") => Seat,
        _ if has("travel_record") => PnrLocator,
        _ if has("free_text") && name == "parameters" => AuditParameters,
        _ if has("free_text") => FreeText,
        _ if !pii.is_empty() && text => FreeText,
        _ if text && name == "flight_id" => FlightId,
        _ if text && name == "carrier_code" => Carrier,
        _ if text && name == "terminal" => Terminal,
        _ if text && name == "country_of_origin" => CountryOfOrigin,
        _ if text && ends("lading_port") => ForeignPort,
        _ if text && name.starts_with("hts") => HtsHeading,
        _ if text && name == "class_of_admission" => ClassOfAdmission,
        _ if text && name == "result_code" => ResultCode,
        _ if text && name == "disposition" => Disposition,
        _ if text && name == "alien_type" => AlienType,
        _ if text && name == "incident_type" => IncidentType,
        _ if text && name == "category" => MoirCategory,
        _ if text && name == "education_level" => EducationLevel,
        _ if text && name == "deferral_reason" => DeferralReason,
        _ if text && name == "action" => AuditAction,
        _ if text && name == "object" => AuditObject,
        _ if text && name == "pay_period" => PayPeriod,
        _ if name == "wait_minutes" => WaitMinutes,
        _ if ends("_minutes") => DurationMinutes,
        _ if ends("_seconds") => ProcessingSeconds,
        _ if ends("weight_kg") => DrugWeightKg,
        _ if name == "currency_usd" => CurrencyUsd,
        _ if name.starts_with("entered_value") => EnteredValueUsd,
        _ if name.starts_with("duty") => DutyUsd,
        _ if name.contains("cap_usd") => OvertimeCapUsd,
        _ if name.contains("overtime") && ends("_usd") => OvertimeUsd,
        _ if ends("_usd") && name.contains("premium") => PremiumPayUsd,
        _ if ends("_usd") => CurrencyUsd,
        _ if name.contains("overtime") && ends("_hours") => OvertimeHours,
        _ if name.contains("leave") && ends("_hours") => LeaveHours,
        _ if ends("_hours") => FlightHours,
        _ if ty == "int" && (name == "occupants" || name == "quantity") => Occupants,
        _ if ty == "int" && ends("_level") => Level,
        _ if ty == "int" => SmallCount,
        _ if text && name.starts_with("manifest") => Code("MAN"),
        _ if text && name.starts_with("bill_of_lading") => Code("BOL"),
        _ if text && name.starts_with("importer") => Code("IMP"),
        _ if text && name.starts_with("rule") => Code("UDR"),
        _ if text && name.starts_with("course") => Code("CRS"),
        _ if text && name.starts_with("sensor") => Code("SNS"),
        _ if text && name.starts_with("school") => Code("SCH"),
        _ if text && name.starts_with("organization") => Code("ORG"),
        _ if text && name.starts_with("branch") => Code("AMO"),
        _ if text && name.starts_with("asset_number") => Code("N"),
        _ if text && name.starts_with("asset_name") => Code("RVSS"),
        _ => return None,
    })
}

fn document_kind(name: &str) -> &'static str {
    match () {
        _ if name.contains("passport") => "PP",
        _ if name.starts_with("a_number") => "A",
        _ if name.contains("visa") => "VISA",
        _ if name.contains("i94") => "I94",
        _ if name.contains("sevis") => "SEVIS",
        _ => "DOC",
    }
}

/// Words for the string profiles that draw from a list.
pub fn words(profile: Profile) -> &'static [(&'static str, f64)] {
    use Profile::*;
    match profile {
        Gender => &[("M", 52.0), ("F", 47.0), ("X", 1.0)],
        Terminal => {
            &[("1", 4.0), ("2", 3.0), ("3", 2.0), ("4", 3.0), ("5", 1.0), ("7", 1.0), ("8", 2.0)]
        }
        ClassOfAdmission => &[
            ("B2", 40.0),
            ("WT", 20.0),
            ("B1", 10.0),
            ("F1", 5.0),
            ("H1B", 4.0),
            ("J1", 3.0),
            ("L1", 2.0),
            ("WB", 6.0),
            ("TN", 3.0),
            ("CR1", 1.0),
        ],
        ResultCode => &[
            ("IO25", 40.0),
            ("IO95", 20.0),
            ("IO04", 12.0),
            ("IO11", 8.0),
            ("IO30", 6.0),
            ("IO70", 4.0),
            ("IO99", 2.0),
        ],
        Disposition => &[
            ("withdrawal", 40.0),
            ("expedited_removal", 25.0),
            ("parole", 12.0),
            ("notice_to_appear", 10.0),
            ("detained", 8.0),
            ("visa_waiver_refusal", 5.0),
        ],
        AlienType => &[("single_adult", 65.0), ("family_unit_member", 25.0), ("uac", 10.0)],
        IncidentType => &[
            ("use_of_force", 10.0),
            ("assault_on_officer", 6.0),
            ("vehicle_pursuit", 12.0),
            ("port_runner", 15.0),
            ("medical_emergency", 20.0),
            ("death_in_custody", 1.0),
            ("weapon_discovery", 8.0),
            ("large_seizure", 10.0),
        ],
        MoirCategory => &[
            ("narcotics", 35.0),
            ("counterterrorism", 8.0),
            ("trade_fraud", 15.0),
            ("human_smuggling", 18.0),
            ("currency", 10.0),
            ("weapons", 6.0),
            ("intellectual_property", 8.0),
        ],
        EducationLevel => &[
            ("bachelors", 35.0),
            ("masters", 30.0),
            ("doctorate", 10.0),
            ("associate", 8.0),
            ("language_training", 7.0),
            ("secondary", 5.0),
            ("other", 5.0),
        ],
        DeferralReason => &[
            ("missing_document", 50.0),
            ("pending_verification", 30.0),
            ("medical", 10.0),
            ("other", 10.0),
        ],
        AuditAction => &[
            ("sign_on", 20.0),
            ("read_mart", 35.0),
            ("read_report", 25.0),
            ("drill_down", 10.0),
            ("ad_hoc_query", 5.0),
            ("export", 4.0),
            ("access_change", 1.0),
        ],
        _ => &[],
    }
}

impl Profile {
    /// How often a nullable column of this profile is left empty.
    pub fn null_rate(self) -> f64 {
        use Profile::*;
        match self {
            WaitMinutes | DurationMinutes | ProcessingSeconds => 0.03,
            Disposition | ResultCode | DeferralReason => 0.1,
            NameList => 0.4,
            _ => 0.05,
        }
    }
}
