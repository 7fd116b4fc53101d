//! Object keys, laid out per project, job and run:
//! `projects/<project>/jobs/<job>/<run>/<name>`, so a project's or a job's outputs
//! can be listed, measured or deleted together, and two runs of one job (a
//! duplicate poll, a run rescued while the first was still storing) never write
//! or delete each other's files.

use std::fmt;

use uuid::Uuid;

use crate::ids::JobId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectKey(String);

#[derive(Debug, thiserror::Error)]
#[error("invalid object key {0:?}: names are 1-128 characters of A-Z a-z 0-9 . _ - and do not start with a dot")]
pub struct InvalidKey(pub String);

impl ObjectKey {
    /// The key of one of a job's output files, as stored by run `run`.
    pub fn output(project: Uuid, job: JobId, run: &str, name: &str) -> Result<Self, InvalidKey> {
        if let Some(bad) = [run, name].into_iter().find(|part| !valid_name(part)) {
            return Err(InvalidKey(bad.to_string()));
        }
        Ok(Self(format!("projects/{project}/jobs/{}/{run}/{name}", job.0)))
    }

    /// Reads a stored key back (from a job's output or a signed link),
    /// accepting only the layout `output` writes.
    pub fn parse(key: &str) -> Result<Self, InvalidKey> {
        let invalid = || InvalidKey(key.to_string());
        let parts: Vec<&str> = key.split('/').collect();
        match parts.as_slice() {
            ["projects", project, "jobs", job, run, name]
                if Uuid::parse_str(project).is_ok()
                    && Uuid::parse_str(job).is_ok()
                    && valid_name(run)
                    && valid_name(name) =>
            {
                Ok(Self(key.to_string()))
            }
            _ => Err(invalid()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_their_job() {
        let (project, job) = (Uuid::new_v4(), JobId::new());
        let key = ObjectKey::output(project, job, "r1", "image-0.png").expect("valid");
        assert_eq!(
            key.as_str(),
            format!("projects/{project}/jobs/{}/r1/image-0.png", job.0)
        );
        assert_eq!(ObjectKey::parse(key.as_str()).expect("parses"), key);
        for name in ["", "..", ".hidden", "a/b", "a\\b", "a b", "é.png", &"x".repeat(129)] {
            assert!(
                ObjectKey::output(project, job, "r1", name).is_err(),
                "{name:?} accepted"
            );
            assert!(
                ObjectKey::output(project, job, name, "a.png").is_err(),
                "run {name:?} accepted"
            );
        }
        for key in [
            "projects/x/jobs/y/z.png",
            "../etc/passwd",
            &format!("projects/{project}/jobs/{}/r1/../../z", job.0),
            &format!("projects/{project}/jobs/{}/a.png", job.0),
            &format!("projects/{project}/jobs/{}/r1/a/b.png", job.0),
        ] {
            assert!(ObjectKey::parse(key).is_err(), "{key:?} accepted");
        }
    }
}
