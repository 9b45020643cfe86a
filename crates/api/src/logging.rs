//! The server's log output: one event per line, whatever the logged values hold (security review
//! L4). Values are logged with `?` (Debug, which escapes) where they come from users; this writer
//! is the second defence, for messages and causes (`%error`) that carry user text: a line break
//! inside an event would let a client forge a log line of its own.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] whose writers escape line breaks inside each event (`\n` → `\\n`,
/// `\r` → `\\r`), keeping the event's final newline. `tracing_subscriber::fmt` formats an event
/// whole and writes it with one `write_all`, so each call is one event.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneLine<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLine<M> {
    type Writer = OneLineWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLineWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        OneLineWriter(self.0.make_writer_for(meta))
    }
}

/// The writer of [`OneLine`].
#[derive(Debug)]
pub struct OneLineWriter<W>(W);

/// `event` with its inner line breaks escaped and its final newline kept.
pub fn one_line(event: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let (body, end) = match event.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (event, &b""[..]),
    };
    if !body.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        return event.into();
    }
    let mut escaped = Vec::with_capacity(event.len() + 16);
    for &b in body {
        match b {
            b'\n' => escaped.extend_from_slice(b"\\n"),
            b'\r' => escaped.extend_from_slice(b"\\r"),
            _ => escaped.push(b),
        }
    }
    escaped.extend_from_slice(end);
    escaped.into()
}

impl<W: Write> Write for OneLineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(&one_line(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn inner_line_breaks_are_escaped_and_the_final_newline_kept() {
        assert_eq!(&*one_line(b"plain\n"), b"plain\n");
        assert_eq!(&*one_line(b"a\nb\r\nc\n"), b"a\\nb\\r\\nc\n");
        assert_eq!(&*one_line(b"no end\nhere"), b"no end\\nhere");
    }

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The review's T18: a topic that carries a line of its own.
    #[test]
    fn a_value_with_a_line_break_cannot_forge_a_log_line() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(OneLine(move || sink.clone())).finish();
        let forged = "x\n2026-12-03T07:30:00.000000Z ERROR kafkaml_api: FORGED-LOG-LINE admin password reset";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(topic = %forged, "prediction socket subscribed");
            tracing::warn!("message with {forged}");
            tracing::info!("next");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines.iter().all(|l| !l.starts_with("2026-12-03T07:30:00")), "{text}");
        assert!(
            lines[0].ends_with(
                "topic=x\\n2026-12-03T07:30:00.000000Z ERROR kafkaml_api: FORGED-LOG-LINE admin password reset"
            ),
            "{text}"
        );
    }
}
