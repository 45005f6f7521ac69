//! The terminal mode's input language: one command per line.
//!
//! A line that does not start with `/` is a message to the current partner
//! (the group chat unless `/to` chose someone); `//text` sends `/text`.

use std::path::PathBuf;

/// One line of input, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send this text to the current partner.
    Say(String),
    /// `/msg USER TEXT`: one private message, without changing the partner.
    Msg {
        /// The recipient's username.
        to: String,
        /// The message.
        text: String,
    },
    /// `/to USER` chooses a private partner; `/to` alone goes back to the group.
    To(Option<String>),
    /// `/users`: ask for the online list (`0006`, LIST-1).
    Users,
    /// `/send-photo PATH`: upload and share a photo with the current partner.
    SendPhoto(PathBuf),
    /// `/send-file PATH`: upload and share a file with the current partner.
    SendFile(PathBuf),
    /// `/get ID`: fetch a shared item into the cache directory.
    Get(String),
    /// `/help`.
    Help,
    /// `/quit`: log out and exit.
    Quit,
    /// An empty line: nothing to do.
    Nothing,
}

/// The text `/help` prints.
pub const HELP: &str = "commands: TEXT (to the group, or to the /to partner), /msg USER TEXT, \
/to [USER], /users, /send-photo PATH, /send-file PATH, /get ID, /help, /quit; //TEXT sends /TEXT";

/// Parses one input line.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(text) = line.strip_prefix("//") {
        return Ok(Command::Say(format!("/{text}")));
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Ok(if line.trim().is_empty() {
            Command::Nothing
        } else {
            Command::Say(line.to_owned())
        });
    };
    let (name, args) = match rest.split_once(' ') {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    let need = |what: &str| {
        if args.is_empty() {
            Err(format!("usage: /{name} {what}"))
        } else {
            Ok(args.to_owned())
        }
    };
    match name {
        "msg" => {
            let (to, text) = args
                .split_once(' ')
                .filter(|(_, text)| !text.trim().is_empty())
                .ok_or("usage: /msg USER TEXT")?;
            Ok(Command::Msg {
                to: to.to_owned(),
                text: text.to_owned(),
            })
        }
        "to" => Ok(Command::To((!args.is_empty()).then(|| args.to_owned()))),
        "users" => Ok(Command::Users),
        "send-photo" => need("PATH").map(|p| Command::SendPhoto(p.into())),
        "send-file" => need("PATH").map(|p| Command::SendFile(p.into())),
        "get" => need("ID").map(Command::Get),
        "help" => Ok(Command::Help),
        "quit" | "exit" => Ok(Command::Quit),
        _ => Err(format!("unknown command /{name}; /help lists them")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        let cases = [
            ("大家好", Command::Say("大家好".into())),
            ("//me waves", Command::Say("/me waves".into())),
            ("   ", Command::Nothing),
            (
                "/msg Julia 开，八点见",
                Command::Msg {
                    to: "Julia".into(),
                    text: "开，八点见".into(),
                },
            ),
            ("/to Meggie", Command::To(Some("Meggie".into()))),
            ("/to", Command::To(None)),
            ("/users", Command::Users),
            (
                "/send-photo 猫 1.png",
                Command::SendPhoto("猫 1.png".into()),
            ),
            (
                "/send-file /tmp/a.txt",
                Command::SendFile("/tmp/a.txt".into()),
            ),
            ("/get p7", Command::Get("p7".into())),
            ("/help", Command::Help),
            ("/quit\r\n", Command::Quit),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn explains_mistakes() {
        assert_eq!(parse("/msg Julia"), Err("usage: /msg USER TEXT".into()));
        assert_eq!(parse("/get"), Err("usage: /get ID".into()));
        assert_eq!(
            parse("/dance"),
            Err("unknown command /dance; /help lists them".into())
        );
    }
}
