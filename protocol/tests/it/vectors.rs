//! Runs every language-neutral vector in `fixtures/vectors/` (documented in
//! its README) through the parsers, encoders and the frame buffer, and
//! snapshots what they make of it, so a change in meaning shows up in review.

use protocol::limits::MAX_FRAME;
use protocol::{FrameBuffer, parse_request, parse_response, parse_side_command, parse_side_reply};
use serde_json::{Value, json};

/// The bytes of a vector's `line` (or `hex`).
fn line_bytes(row: &Value) -> Vec<u8> {
    match (row.get("line"), row.get("hex")) {
        (Some(line), _) => line.as_str().expect("line is a string").as_bytes().to_vec(),
        (None, Some(hex)) => decode_hex(hex.as_str().expect("hex is a string")),
        _ => panic!("vector has neither line nor hex: {row}"),
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("valid hex"))
        .collect()
}

fn rows(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad vector {l}: {e}")))
        .collect()
}

/// Checks one chat-port vector in either direction; returns what the
/// parser made of it, for the snapshot.
fn check_frame<T: serde::Serialize>(
    row: &Value,
    parse: impl Fn(&[u8]) -> Result<T, protocol::FrameError>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Value {
    let bytes = line_bytes(row);
    let shown = String::from_utf8_lossy(&bytes).into_owned();
    match parse(&bytes) {
        Ok(frame) => {
            let meaning = serde_json::to_value(&frame).unwrap();
            let expected = row.get("frame").unwrap_or_else(|| {
                panic!("{shown:?} parsed as {meaning} but the vector expects an error")
            });
            assert_eq!(&meaning, expected, "meaning of {shown:?}");
            // Encoding the meaning gives back the exact line (ESC-1).
            let mut line = bytes.clone();
            line.push(b'\n');
            assert_eq!(encode(&frame), line, "re-encoding {shown:?}");
            json!({ "line": shown, "frame": meaning })
        }
        Err(error) => {
            let code = error.code().as_str();
            assert_eq!(
                row.get("error").and_then(Value::as_str),
                Some(code),
                "{shown:?} failed with {error} ({code})"
            );
            json!({ "line": shown, "error": code, "reason": error.to_string() })
        }
    }
}

/// The stream a `framing.jsonl` vector describes, as reads.
fn framing_chunks(row: &Value) -> (Vec<Vec<u8>>, Option<String>) {
    if let Some(chunks) = row.get("chunks") {
        let chunks = chunks.as_array().unwrap().iter();
        return (chunks.map(|c| c.as_str().unwrap().into()).collect(), None);
    }
    if let Some(chunks) = row.get("chunks_hex") {
        let chunks = chunks.as_array().unwrap().iter();
        return (
            chunks.map(|c| decode_hex(c.as_str().unwrap())).collect(),
            None,
        );
    }
    let rep = &row["repeat"];
    let prefix = rep["prefix"].as_str().unwrap();
    let total = rep["total"].as_u64().unwrap() as usize;
    let line = format!(
        "{prefix}{}",
        rep["fill"].as_str().unwrap().repeat(total - prefix.len())
    );
    let stream = format!("{line}{}", rep["suffix"].as_str().unwrap());
    (vec![stream.into_bytes()], Some(line))
}

fn check_framing(row: &Value) -> Value {
    let (chunks, long_line) = framing_chunks(row);
    let mut buffer = FrameBuffer::new(MAX_FRAME);
    let mut got = Vec::new();
    for chunk in &chunks {
        buffer.push(chunk);
        while let Some(line) = buffer.next_line() {
            got.push(match line {
                Ok(line) if Some(line) == long_line.as_deref().map(str::as_bytes) => {
                    "@REPEAT".to_owned()
                }
                Ok(line) => String::from_utf8_lossy(line).into_owned(),
                Err(e) => format!("!{}", e.code()),
            });
        }
    }
    let expected: Vec<String> = row["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected, "framing of {}", row["note"]);
    json!({ "note": row["note"], "lines": got })
}

fn check_side(row: &Value) -> Value {
    let bytes = line_bytes(row);
    let shown = String::from_utf8_lossy(&bytes).into_owned();
    let mut line = bytes.clone();
    line.push(b'\n');
    if let Some(expected) = row.get("reply") {
        let reply = parse_side_reply(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            &serde_json::to_value(&reply).unwrap(),
            expected,
            "{shown:?}"
        );
        assert_eq!(reply.to_bytes(), line, "re-encoding {shown:?}");
        return json!({ "line": shown, "reply": expected });
    }
    match parse_side_command(&bytes) {
        Ok(command) => {
            let meaning = serde_json::to_value(&command).unwrap();
            assert_eq!(Some(&meaning), row.get("command"), "{shown:?}");
            assert_eq!(command.to_bytes(), line, "re-encoding {shown:?}");
            json!({ "line": shown, "command": meaning })
        }
        Err(e) => {
            assert_eq!(row.get("error").and_then(Value::as_str), Some("MALFORMED"));
            json!({ "line": shown, "error": e.code().as_str() })
        }
    }
}

#[test]
fn every_vector_file_holds() {
    insta::glob!("../../../fixtures/vectors", "*.jsonl", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let results: Vec<Value> = rows(&text)
            .iter()
            .map(|row| match name {
                "requests.jsonl" => check_frame(row, parse_request, |f| f.to_bytes()),
                "responses.jsonl" => check_frame(row, parse_response, |f| f.to_bytes()),
                "framing.jsonl" => check_framing(row),
                "side.jsonl" => check_side(row),
                other => panic!("no checker for fixtures/vectors/{other}"),
            })
            .collect();
        insta::assert_yaml_snapshot!(results);
    });
}

#[test]
fn every_request_and_response_id_has_a_valid_vector() {
    let root = crate::repo_root().join("fixtures/vectors");
    for (file, ids) in [("requests.jsonl", 1..=9), ("responses.jsonl", 1001..=1012)] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let valid: Vec<String> = rows(&text)
            .iter()
            .filter(|r| r.get("frame").is_some())
            .map(|r| r["line"].as_str().unwrap()[..4].to_owned())
            .collect();
        for id in ids {
            let id = format!("{id:04}");
            assert!(valid.contains(&id), "{file} has no valid {id} frame");
        }
    }
}
