//! Words for the causes of errors from outside services, shared by the crates that talk to them
//! (executor, IoT, orchestration), so an unreachable service reads the same everywhere.

use std::error::Error;
use std::io;

/// The deepest source of `error`.
pub fn innermost<'a>(error: &'a (dyn Error + 'static)) -> &'a (dyn Error + 'static) {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current
}

/// The first I/O error in `error`'s chain of sources, if any.
pub fn io_cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// An I/O error in a few words: `connection refused`, `timed out`…; `closed_early` says what an
/// unexpected end of stream means for the caller's protocol.
pub fn describe_io(error: &io::Error, closed_early: &str) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        io::ErrorKind::TimedOut => "timed out".to_owned(),
        io::ErrorKind::UnexpectedEof => closed_early.to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] io::Error);

    #[test]
    fn walks_the_chain() {
        let e = Outer(io::Error::new(io::ErrorKind::ConnectionRefused, "refused by peer"));
        assert_eq!(innermost(&e).to_string(), "refused by peer");
        let Some(io) = io_cause(&e) else { panic!("the I/O error is in the chain") };
        assert_eq!(describe_io(io, "closed"), "connection refused");
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        assert_eq!(describe_io(&eof, "the broker closed the connection"), "the broker closed the connection");
        assert!(io_cause(&std::fmt::Error).is_none());
    }
}
