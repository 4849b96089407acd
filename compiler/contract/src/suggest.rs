//! "Did you mean" for names the user typed: shared by the compiler's diagnostics and the
//! runtime's errors, so both suggest the same way.

/// Names longer than this (in bytes) are not compared: nobody mistypes a name that long by a
/// letter or two, and comparing two names costs the product of their lengths.
const LONGEST_SUGGESTED: usize = 100;

/// Names close to `name` among `candidates`, best first: the basis of every "did you mean".
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.len() > LONGEST_SUGGESTED {
        return None;
    }
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates.into_iter().filter(|c| c.len() <= LONGEST_SUGGESTED) {
        let score = strsim::jaro_winkler(name, candidate);
        // A swap of two letters (`JKF` for `JFK`) is one edit, as people mistype.
        let close = score >= 0.8 || strsim::osa_distance(name, candidate) <= name.len().max(1) / 3;
        if close && best.is_none_or(|(s, c)| score > s || (score == s && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" when there is a close candidate, otherwise the list of valid names.
pub fn did_you_mean(name: &str, candidates: &[&str], what: &str) -> String {
    if let Some(best) = suggest(name, candidates.iter().copied()) {
        return format!("did you mean `{best}`?");
    }
    if candidates.is_empty() {
        return format!("no {what} is defined");
    }
    let mut sorted: Vec<&str> = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    const SHOWN: usize = 12;
    let list: Vec<String> = sorted.iter().take(SHOWN).map(|c| format!("`{c}`")).collect();
    let whats = match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    };
    let more = sorted.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("valid {whats}: {} and {more} more", list.join(", "))
    } else {
        format!("valid {whats}: {}", list.join(", "))
    }
}
