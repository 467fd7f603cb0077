//! The profiles currently in effect, keyed by file: reloading keeps the last
//! valid version of a file that became invalid and drops files that are
//! gone. This is the state behind hot reload.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Profile, ProfileError, load_file, profile_files};

/// The last valid profile of each file, and the current errors.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    valid: BTreeMap<String, Profile>,
    errors: Vec<ProfileError>,
}

impl Catalog {
    /// Applies the result of reading every profile file once (file name →
    /// outcome). A file that parses replaces its previous version; a broken
    /// file keeps its previous version (if any) and is reported; a file not
    /// in `results` is removed. Pure.
    pub fn apply(&mut self, results: Vec<(String, Result<Profile, ProfileError>)>) {
        let mut valid = BTreeMap::new();
        let mut errors = Vec::new();
        for (file, result) in results {
            match result {
                Ok(profile) => {
                    valid.insert(file, profile);
                }
                Err(error) => {
                    if let Some(previous) = self.valid.remove(&file) {
                        valid.insert(file, previous);
                    }
                    errors.push(error);
                }
            }
        }
        self.valid = valid;
        self.errors = errors;
    }

    /// Reads every `*.yaml` in `dir` and applies the results.
    pub fn reload(&mut self, dir: &Path) -> std::io::Result<()> {
        let results = profile_files(dir)?
            .into_iter()
            .map(|file| {
                let name = file
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, load_file(&file))
            })
            .collect();
        self.apply(results);
        Ok(())
    }

    /// The profiles in effect, sorted by name.
    pub fn profiles(&self) -> Vec<Profile> {
        let mut profiles: Vec<Profile> = self.valid.values().cloned().collect();
        profiles.sort_by(|a, b| a.name.cmp(&b.name));
        profiles
    }

    /// The errors of the last reload, one per broken file.
    pub fn errors(&self) -> &[ProfileError] {
        &self.errors
    }

    /// The errors as lines, each starting with `file:line:column`.
    pub fn error_lines(&self) -> Vec<String> {
        self.errors.iter().flat_map(ProfileError::lines).collect()
    }
}
