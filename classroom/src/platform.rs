//! The platforms courses already grade on: a Gradescope autograder bundle
//! and a GitHub Actions workflow for GitHub Classroom, both generated from
//! the instructor's build so that students are graded by the instructor's
//! copy of the grader and tests.
//!
//! The Gradescope bundle carries prebuilt binaries (`classroom` and
//! `conformance`) rather than a Rust toolchain: Gradescope builds its image
//! from `setup.sh` once, and `run_autograder` then grades each submission
//! with `classroom grade`, exactly as a batch on the instructor's machine
//! does, limits and hidden tests included. The workflow, by contrast, runs in
//! the student's repository: it builds the grader from the kit's repository
//! at a pinned ref, and is feedback (a student controls their own workflow
//! file); the authoritative grade is the instructor's batch or Gradescope.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::grade::Batch;

/// Writes the Gradescope bundle into `out`, and `out/autograder.zip` if the
/// `zip` command exists. `args` are the grading flags to repeat.
pub fn gradescope_bundle(batch: &Batch, args: &[String], out: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(out.join("bin"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::copy(&batch.conformance, out.join("bin/conformance"))
        .context("cannot copy the conformance binary")?;
    std::fs::copy(&batch.classroom, out.join("bin/classroom"))
        .context("cannot copy the classroom binary")?;
    let mut args = args.to_vec();
    let mut files = vec!["setup.sh", "run_autograder", "bin"];
    if let Some(path) = &batch.rubric_path {
        // Keep the extension: it says whether the rubric is TOML or JSON.
        let name = if path.extension().is_some_and(|e| e == "json") {
            "rubric.json"
        } else {
            "rubric.toml"
        };
        std::fs::copy(path, out.join(name)).context("cannot copy the rubric")?;
        args.push(format!("--rubric=\"$here/{name}\""));
        files.push(name);
    }
    std::fs::write(out.join("setup.sh"), SETUP_SH)?;
    std::fs::write(
        out.join("run_autograder"),
        RUN_AUTOGRADER.replace("@ARGS@", &args.join(" ")),
    )?;
    for f in [
        "setup.sh",
        "run_autograder",
        "bin/conformance",
        "bin/classroom",
    ] {
        std::fs::set_permissions(out.join(f), std::fs::Permissions::from_mode(0o755))?;
    }
    let zipped = Command::new("zip")
        .current_dir(out)
        .args(["-q", "-r", "autograder.zip"])
        .args(&files)
        .status()
        .is_ok_and(|s| s.success());
    if zipped {
        println!(
            "wrote {} (upload it as the autograder)",
            out.join("autograder.zip").display()
        );
    } else {
        println!(
            "wrote {}; no `zip` command: zip setup.sh, run_autograder and bin/ (at the zip's root) yourself",
            out.display()
        );
    }
    println!(
        "the binaries need glibc as new as this machine's, or build them for x86_64-unknown-linux-musl (classroom/README.md)"
    );
    Ok(())
}

/// Writes the GitHub Actions workflow to `out`.
pub fn github_workflow(
    out: &Path,
    kit_repo: &str,
    kit_ref: &str,
    level: u8,
    seed: u64,
) -> anyhow::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = WORKFLOW
        .replace("@KIT_REPO@", kit_repo)
        .replace("@KIT_REF@", kit_ref)
        .replace("@LEVEL@", &level.to_string())
        .replace("@SEED@", &seed.to_string());
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))
}

const SETUP_SH: &str = r#"#!/usr/bin/env bash
# ChatLab autograder setup, written by `classroom gradescope-bundle`.
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs what students' servers need; the grader itself is prebuilt in bin/.
set -euo pipefail
apt-get update
# prlimit, setpriv and unshare come with util-linux; ip with iproute2.
apt-get install -y --no-install-recommends python3 util-linux iproute2 procps
# Other languages: uncomment what your course accepts.
# apt-get install -y --no-install-recommends default-jdk-headless
# apt-get install -y --no-install-recommends gcc libc6-dev
# apt-get install -y --no-install-recommends golang-go
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# ChatLab autograder, written by `classroom gradescope-bundle`.
# Gradescope runs this for every submission, as root, with the submission in
# /autograder/submission; it must write /autograder/results/results.json.
# CHATLAB_AUTOGRADER_ROOT replaces /autograder, to try the bundle elsewhere.
set -uo pipefail
root=${CHATLAB_AUTOGRADER_ROOT:-/autograder}
here=$root/source
class=$(mktemp -d)
mkdir -p "$class/submissions" "$root/results"
cp -r "$root/submission" "$class/submissions/student"
"$here/bin/classroom" grade "$class/submissions" --out "$class/grades" --jobs 1 \
    --conformance "$here/bin/conformance" @ARGS@
if [ -f "$class/grades/gradescope/student/results.json" ]; then
    cp "$class/grades/gradescope/student/results.json" "$root/results/results.json"
else
    echo '{"score": 0, "output": "The autograder failed before it produced a result. Please tell your instructor."}' \
        > "$root/results/results.json"
fi
rm -rf "$class"
"#;

const WORKFLOW: &str = r#"# ChatLab grading for GitHub Classroom, written by `classroom github-workflow`.
# Runs the conformance grader (built from the instructor's kit at a pinned ref)
# against this repository's server, reports points to GitHub Classroom, and
# uploads the full report as an artifact.
name: ChatLab grading
on:
  push:
  workflow_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Check out the submission
        uses: actions/checkout@v4
        with:
          path: submission
      - name: Check out the ChatLab kit
        uses: actions/checkout@v4
        with:
          repository: @KIT_REPO@
          ref: @KIT_REF@
          path: chatlab
      - name: Install Rust
        uses: dtolnay/rust-toolchain@stable
      - name: Build the grader
        run: cargo build --release --locked --manifest-path chatlab/Cargo.toml -p conformance -p classroom
      - name: Grade
        # sudo: limits per student user and a private network need root.
        run: |
          mkdir -p class
          cp -r submission "class/${GITHUB_REPOSITORY#*/}"
          rm -rf "class/${GITHUB_REPOSITORY#*/}/.git"
          sudo chatlab/target/release/classroom grade class --out grades --jobs 1 \
            --level @LEVEL@ --seed @SEED@
          sudo chown -R "$(id -u)" grades
          {
            echo '```'
            cat grades/students/*/report.txt
            echo '```'
          } >> "$GITHUB_STEP_SUMMARY"
      - name: Points for GitHub Classroom
        id: chatlab
        run: |
          payload=$(jq -c '{version: 1,
            status: (if .status == "graded" then "pass" else "error" end),
            max_score: .max_score,
            tests: ([.tests[] | {name: "L\(.level) \(.slug)",
                                 status: (if .status == "pass" then "pass" else "fail" end),
                                 score: .points, message: (.message // "")}]
                    + [.hidden[] | {name: "Level \(.level) hidden tests",
                                    status: (if .passed == .count then "pass" else "fail" end),
                                    score: 0, message: "\(.count) hidden tests: passed \(.passed)"}])}' \
            grades/students/*/report.json | base64 -w0)
          echo "result=$payload" >> "$GITHUB_OUTPUT"
      - name: Report to GitHub Classroom
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          CHATLAB_RESULTS: "${{ steps.chatlab.outputs.result }}"
        with:
          runners: chatlab
      - name: Keep the report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: chatlab-grades
          path: grades
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_is_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".github/workflows/chatlab.yml");
        github_workflow(&path, "uni/chatlab", "v1.0", 3, 7).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("repository: uni/chatlab"));
        assert!(text.contains("ref: v1.0"));
        assert!(text.contains("--level 3 --seed 7"));
        for placeholder in ["@KIT_REPO@", "@KIT_REF@", "@LEVEL@", "@SEED@"] {
            assert!(
                !text.contains(placeholder),
                "{placeholder} left in the workflow"
            );
        }
    }
}
