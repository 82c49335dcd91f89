//! What the CLI prints, and how it fails.
//!
//! Every line goes through [`say!`], which turns a closed output pipe (`panacea ... |
//! head -1`) into a quiet, successful exit instead of the panic `println!` would raise.

use std::io::Write as _;

use panacea_client_sdk::ClientError;

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

/// The exit code of a closed output pipe: the reader has what it wanted.
const PIPE_CLOSED: u8 = 0;

impl Failure {
    pub(crate) fn local(message: impl std::fmt::Display) -> Failure {
        Failure { code: 1, message: message.to_string() }
    }

    fn pipe_closed() -> Failure {
        Failure { code: PIPE_CLOSED, message: String::new() }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure { code: 3, message: e.to_string() }
    }
}

/// Writes one line to standard output.
pub(crate) fn line(args: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{args}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::pipe_closed()),
        Err(e) => Err(Failure::local(format!("cannot write the output: {e}"))),
    }
}

/// `println!` that returns a [`Failure`] instead of panicking when the output is closed.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// Prints `value` as pretty JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    say!("{}", serde_json::to_string_pretty(value).map_err(Failure::local)?);
    Ok(())
}

/// Reports a failure on standard error; a closed output pipe is no failure.
#[allow(clippy::print_stderr, reason = "the binary reports its error")]
pub(crate) fn report(failure: Failure) -> std::process::ExitCode {
    if !failure.message.is_empty() {
        // Standard error may be closed too; nothing more can be said then.
        let _ = writeln!(std::io::stderr(), "error: {}", failure.message);
    }
    std::process::ExitCode::from(failure.code)
}
