//! How gen-data gets its profile: `generated/gendata.json`, which `tally compile` writes from
//! the project's checked `gendata.yaml`; or a YAML profile named on the command line
//! (`tally gen-data --profile FILE`), checked against the plan exactly as the compiler checks
//! the project's. Without either, every setting takes its default.

use crate::error::{codes, Error, Result};
use crate::plan::Plan;
use std::path::Path;
use tally_contract::gendata::locate::locate;
use tally_contract::gendata::{self, GenData, GenDataError, Profile, Shape};

/// The profile in `generated/` (`gendata.json`), or the empty profile when the project has
/// none.
pub fn load(generated: &Path) -> Result<Profile> {
    let path = generated.join(gendata::ARTIFACT_FILE);
    if !path.exists() {
        return Ok(Profile::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::new(codes::GEN_DATA_PROFILE, format!("cannot read {}: {e}", path.display()))
            .help("make the file readable, or compile the project again with `tally compile`")
    })?;
    GenData::from_json(&text).map(|g| g.profile).map_err(|problem| {
        let help = match problem {
            GenDataError::Version { .. } => "compile the project with this version of tally",
            GenDataError::Malformed { .. } => {
                "regenerate it with the `tally compile` of this tally version"
            }
        };
        Error::new(codes::GEN_DATA_PROFILE, format!("{}: {problem}", path.display())).help(help)
    })
}

/// A YAML profile from `path`, checked against `plan`: every problem is reported, each with
/// its line.
pub fn read_yaml(path: &Path, plan: &Plan) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(codes::GEN_DATA_PROFILE, format!("cannot read {}: {e}", path.display()))
            .help("pass a readable YAML profile with --profile FILE")
    })?;
    let profile = Profile::from_yaml(&text).map_err(|e| {
        let at = e.offset.map(|o| format!(":{}", line_of(&text, o))).unwrap_or_default();
        Error::new(codes::GEN_DATA_PROFILE, format!("{}{at}: {}", path.display(), e.message))
            .help("the profile takes `traffic`, `lists`, `dimensions` and `sources`; docs/gendata.md shows each setting")
    })?;
    let problems = gendata::check(&profile, &Shape::of(plan));
    if problems.is_empty() {
        return Ok(profile);
    }
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            let line = locate(&text, &p.path, p.at).map_or(0, |(start, _)| line_of(&text, start));
            let help = p.help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
            format!("\n  {}:{line}: {}{help}", path.display(), p.message)
        })
        .collect();
    Err(Error::new(
        codes::GEN_DATA_PROFILE,
        format!(
            "the profile {} does not fit the plan ({} problem(s)):{}",
            path.display(),
            problems.len(),
            lines.concat()
        ),
    )
    .help("fix the profile at the lines shown; docs/gendata.md describes every setting"))
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
