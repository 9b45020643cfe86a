//! Reading `multipart/form-data` bodies: [`form_data`] is `actix_multipart::Multipart` over a
//! body whose parts labelled `Content-Type: multipart/…` are relabelled
//! `application/octet-stream` on the way in.
//!
//! actix-multipart refuses such a part as a nested multipart stream, which it does not support.
//! But a file part labelled so is still just a file: Django's test client labels an uploaded
//! file's part with the request's own `multipart/form-data` type, and Django stores it like any
//! other file (issue 12). The parts' contents are never changed, only the label of their header.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::{web, HttpMessage, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;

/// The label given to a part that said `multipart/…`.
const RELABELLED: &str = "application/octet-stream";

/// Longest header line looked at; past it the body goes through as it is (the parser refuses it).
const MAX_HEADER_LINE: usize = 16 * 1024;

/// The parts of `payload`, a `multipart/form-data` body (see the module doc).
pub fn form_data(req: &HttpRequest, payload: web::Payload) -> Multipart {
    let boundary = req.mime_type().ok().flatten().and_then(|m| m.get_param("boundary").map(|b| b.as_str().to_owned()));
    match boundary {
        Some(boundary) if !boundary.is_empty() => Multipart::new(req.headers(), Relabel::new(payload, &boundary)),
        // Without a boundary the parser answers the error itself.
        _ => Multipart::new(req.headers(), payload),
    }
}

/// Where [`Relabel`] is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter, or in a part's content: looking for the next delimiter.
    Content,
    /// Just after a delimiter: the rest of its line (`--` closes the body).
    DelimiterLine,
    /// In a part's header lines, up to the empty line.
    Headers,
    /// After the closing delimiter, or past an overlong header line: everything goes through.
    Through,
}

/// A multipart body stream with its parts' `multipart/…` labels replaced (see the module doc).
struct Relabel<S> {
    inner: S,
    /// `\r\n--boundary`: what ends a part's content (the first delimiter has no line break before it).
    delimiter: Vec<u8>,
    state: State,
    /// Whether nothing has been passed on yet (the body may start with the delimiter itself).
    at_start: bool,
    /// Bytes received but not yet passed on.
    pending: BytesMut,
    /// The inner stream has ended.
    done: bool,
}

impl<S> Relabel<S> {
    fn new(inner: S, boundary: &str) -> Self {
        Relabel {
            inner,
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            state: State::Content,
            at_start: true,
            pending: BytesMut::new(),
            done: false,
        }
    }

    /// Moves what can be decided from `pending` to `out`; at the end of the body, everything.
    fn process(&mut self, out: &mut BytesMut) {
        loop {
            match self.state {
                State::Through => {
                    out.extend_from_slice(&self.pending.split());
                    return;
                }
                State::Content => {
                    let first = &self.delimiter[2..];
                    if self.at_start {
                        if self.pending.len() < first.len() && first.starts_with(&self.pending) && !self.done {
                            return;
                        }
                        self.at_start = false;
                        if self.pending.starts_with(first) {
                            out.extend_from_slice(&self.pending.split_to(first.len()));
                            self.state = State::DelimiterLine;
                            continue;
                        }
                    }
                    match find(&self.pending, &self.delimiter) {
                        Some(at) => {
                            out.extend_from_slice(&self.pending.split_to(at + self.delimiter.len()));
                            self.state = State::DelimiterLine;
                        }
                        None => {
                            // Keep what could be the start of a delimiter split across chunks.
                            let keep = if self.done { 0 } else { (self.delimiter.len() - 1).min(self.pending.len()) };
                            let pass = self.pending.len() - keep;
                            out.extend_from_slice(&self.pending.split_to(pass));
                            return;
                        }
                    }
                }
                State::DelimiterLine | State::Headers => {
                    let Some(end) = find(&self.pending, b"\r\n") else {
                        if self.done || self.pending.len() > MAX_HEADER_LINE {
                            self.state = State::Through;
                            continue;
                        }
                        return;
                    };
                    let line = self.pending.split_to(end + 2);
                    let text = &line[..end];
                    if self.state == State::DelimiterLine {
                        self.state = if text.starts_with(b"--") { State::Through } else { State::Headers };
                        out.extend_from_slice(&line);
                    } else if text.is_empty() {
                        self.state = State::Content;
                        out.extend_from_slice(&line);
                    } else if labels_multipart(text) {
                        out.extend_from_slice(format!("Content-Type: {RELABELLED}\r\n").as_bytes());
                    } else {
                        out.extend_from_slice(&line);
                    }
                }
            }
        }
    }
}

/// Whether a part's header line is `Content-Type: multipart/…` (any case, any spacing).
fn labels_multipart(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|b| *b == b':') else { return false };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    let value = value.trim_ascii_start();
    name.trim_ascii().eq_ignore_ascii_case(b"content-type")
        && value.len() >= "multipart/".len()
        && value[.."multipart/".len()].eq_ignore_ascii_case(b"multipart/")
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for Relabel<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                if this.pending.is_empty() {
                    return Poll::Ready(None);
                }
                let mut out = BytesMut::new();
                this.process(&mut out);
                return Poll::Ready(Some(Ok(out.freeze())));
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => this.done = true,
                Poll::Ready(Some(Ok(chunk))) => {
                    this.pending.extend_from_slice(&chunk);
                    let mut out = BytesMut::new();
                    this.process(&mut out);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out.freeze())));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// Runs `body` through [`Relabel`] in chunks of `size` bytes.
    async fn relabel(body: &[u8], size: usize) -> Vec<u8> {
        let chunks: Vec<Result<Bytes, PayloadError>> =
            body.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let mut stream = Relabel::new(futures_util::stream::iter(chunks), "XyZ");
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    const BODY: &str = "--XyZ\r\n\
        Content-Disposition: form-data; name=\"data\"\r\n\r\n\
        {\"a\": 1}\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"trained_model\"; filename=\"m.h5\"\r\n\
        content-type:  Multipart/Form-Data; boundary=XyZ\r\n\r\n\
        Content-Type: multipart/form-data\r\n--Xy not a delimiter\r\n\
        --XyZ--\r\n\
        Content-Type: multipart/mixed\r\n";

    #[actix_web::test]
    async fn only_part_headers_are_relabelled_whatever_the_chunks() {
        let expected = BODY.replacen(
            "content-type:  Multipart/Form-Data; boundary=XyZ\r\n",
            "Content-Type: application/octet-stream\r\n",
            1,
        );
        for size in 1..=BODY.len() {
            assert_eq!(String::from_utf8(relabel(BODY.as_bytes(), size).await).unwrap(), expected, "chunks of {size}");
        }
        // A body with no such part goes through unchanged.
        let plain = "preamble\r\n--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--";
        assert_eq!(relabel(plain.as_bytes(), 3).await, plain.as_bytes());
    }

    #[actix_web::test]
    async fn the_parser_reads_a_relabelled_file_part() {
        let req = actix_web::test::TestRequest::default()
            .insert_header(("content-type", "multipart/form-data; boundary=XyZ"))
            .to_http_request();
        let chunks: Vec<Result<Bytes, PayloadError>> = vec![Ok(Bytes::from_static(BODY.as_bytes()))];
        let stream = Relabel::new(futures_util::stream::iter(chunks), "XyZ");
        let mut form = Multipart::new(req.headers(), stream);
        let mut parts = Vec::new();
        while let Some(field) = form.next().await {
            let mut field = field.unwrap();
            let mut content = Vec::new();
            while let Some(chunk) = field.next().await {
                content.extend_from_slice(&chunk.unwrap());
            }
            parts.push((field.name().unwrap_or_default().to_owned(), String::from_utf8(content).unwrap()));
        }
        assert_eq!(
            parts,
            [
                ("data".to_owned(), "{\"a\": 1}".to_owned()),
                ("trained_model".to_owned(), "Content-Type: multipart/form-data\r\n--Xy not a delimiter".to_owned())
            ]
        );
    }
}
