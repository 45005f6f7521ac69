//! How a submission says how to start its server: a `chatlab.toml` manifest,
//! or, without one, a fallback chosen from the files it contains.
//!
//! The manifest is the contract between a student and the batch grader, so
//! its format is small and documented in `classroom/README.md`:
//!
//! ```toml
//! command = "python3 server.py {port} {data_dir}"   # required
//! language = "python"                               # optional, for reports
//! level = 3                                         # optional: highest level claimed
//! setup = "javac Server.java"                       # optional build step, run once
//! ```
//!
//! The placeholders are the grader's own: `{port}`, `{photo_port}`,
//! `{file_port}` and `{data_dir}`. A submission without a manifest and
//! without a file the fallbacks know is not gradable, which is a state of its
//! own in every report, distinct from a score of zero.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The manifest's file name inside a submission folder.
pub const MANIFEST: &str = "chatlab.toml";

/// How to build and start one submission's server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The command that starts the server, with the grader's placeholders.
    pub command: String,
    /// The language, for reports (`python`, `java`, `c`, `go`, `rust`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The highest level the student claims; higher levels are not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// A build step run once, in the sandbox, before grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
    /// Where this came from: `chatlab.toml` or the fallback's file name.
    #[serde(default)]
    pub source: String,
}

/// The fallbacks, in the order they are tried: (file, language, setup, command).
///
/// Each is what the labs tell students to write, so a student who followed
/// the labs needs no manifest. Setup commands run in the sandbox as the
/// student's user, so the toolchains must be installed system-wide.
pub const FALLBACKS: [(&str, &str, Option<&str>, &str); 4] = [
    (
        "server.py",
        "python",
        None,
        "python3 server.py {port} {data_dir}",
    ),
    (
        "Server.java",
        "java",
        Some("javac Server.java"),
        // The JVM sizes its heap from the machine's memory; the memory limit
        // counts only memory it writes, but a small heap keeps it well inside.
        "java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 Server {port} {data_dir}",
    ),
    (
        "main.go",
        "go",
        Some("go build -o server main.go"),
        "./server {port} {data_dir}",
    ),
    (
        "server.c",
        "c",
        Some("cc -O2 -pthread -o server server.c"),
        "./server {port} {data_dir}",
    ),
];

/// Reads the manifest of the submission in `dir`, or picks a fallback.
///
/// The error is the human reason the submission is not gradable.
pub fn discover(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    if path.is_file() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {MANIFEST}: {e}"))?;
        return parse(&text);
    }
    for (file, language, setup, command) in FALLBACKS {
        if dir.join(file).is_file() {
            return Ok(Manifest {
                command: command.to_owned(),
                language: Some(language.to_owned()),
                level: None,
                setup: setup.map(str::to_owned),
                source: format!("fallback for {file}"),
            });
        }
    }
    let known: Vec<&str> = FALLBACKS.iter().map(|f| f.0).collect();
    Err(format!(
        "no {MANIFEST} and none of {}: the grader does not know how to start this server",
        known.join(", ")
    ))
}

/// Parses and checks a manifest's text.
pub fn parse(text: &str) -> Result<Manifest, String> {
    let mut manifest: Manifest =
        toml::from_str(text).map_err(|e| format!("{MANIFEST} is not valid: {}", e.message()))?;
    if manifest.command.trim().is_empty() {
        return Err(format!("{MANIFEST}: `command` is empty"));
    }
    if !manifest.command.contains("{port}") {
        // Without {port} the server would listen on a port of its choosing,
        // and parallel submissions would collide on it.
        return Err(format!(
            "{MANIFEST}: `command` must contain {{port}} (the grader picks the port), got `{}`",
            manifest.command
        ));
    }
    if let Some(level) = manifest.level
        && !(1..=6).contains(&level)
    {
        return Err(format!("{MANIFEST}: `level` must be 1 to 6, got {level}"));
    }
    manifest.source = MANIFEST.to_owned();
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest_parses() {
        let m = parse(
            "command = \"java Server {port} {data_dir}\"\nlanguage = \"java\"\nlevel = 3\nsetup = \"javac Server.java\"\n",
        )
        .unwrap();
        assert_eq!(m.command, "java Server {port} {data_dir}");
        assert_eq!(m.language.as_deref(), Some("java"));
        assert_eq!(m.level, Some(3));
        assert_eq!(m.setup.as_deref(), Some("javac Server.java"));
        assert_eq!(m.source, MANIFEST);
    }

    #[test]
    fn bad_manifests_say_why() {
        let err = |t: &str| parse(t).unwrap_err();
        assert!(err("command = \"python3 s.py 8090\"").contains("{port}"));
        assert!(err("command = \"\"").contains("empty"));
        assert!(err("command = \"x {port}\"\nlevel = 9").contains("1 to 6"));
        assert!(err("comand = \"x {port}\"").contains("not valid"));
        assert!(err("command = \"x {port}\"\nextra = 1").contains("not valid"));
    }

    #[test]
    fn fallbacks_and_their_absence() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.contains("server.py"), "{err}");
        std::fs::write(dir.path().join("Server.java"), "class Server {}").unwrap();
        let m = discover(dir.path()).unwrap();
        assert_eq!(m.language.as_deref(), Some("java"));
        assert_eq!(m.setup.as_deref(), Some("javac Server.java"));
        std::fs::write(dir.path().join("server.py"), "").unwrap();
        let m = discover(dir.path()).unwrap();
        assert_eq!(m.command, "python3 server.py {port} {data_dir}");
        std::fs::write(dir.path().join(MANIFEST), "command = \"./run {port}\"").unwrap();
        assert_eq!(discover(dir.path()).unwrap().command, "./run {port}");
    }
}
