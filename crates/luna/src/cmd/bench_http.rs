//! The load generator's own HTTP/1.1 keep-alive client for plain GETs. The load shares the
//! machine with the server it measures, so every cycle the client spends is one the server does
//! not get: a request here is one pre-formatted write and one read loop that finds where the
//! answer ends (`Content-Length` or chunked), with no URL parsing, header maps, pool or body
//! copies between. Only `http://` is spoken.

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where to connect and what to say in every request's head.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `host:port` to connect to.
    pub addr: String,
    /// The `Host` header, and an `Authorization` line (with its `\r\n`) or nothing.
    host: String,
    auth: String,
}

impl Target {
    /// Parses a base URL such as `http://127.0.0.1:8000` (a trailing slash is allowed; a path
    /// is not, as the request paths are given apart).
    pub fn parse(base: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let rest = base
            .strip_prefix("http://")
            .with_context(|| format!("--url {base}: the load generator speaks plain http:// only"))?;
        let host = rest.trim_end_matches('/');
        anyhow::ensure!(
            !host.is_empty() && !host.contains('/'),
            "--url {base}: give the server's address only (http://host:port)"
        );
        let addr = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
        Ok(Self { addr, host: host.to_string(), auth })
    }
}

/// One keep-alive connection (reconnected when the server closes it).
pub(crate) struct Conn {
    target: Target,
    stream: Option<TcpStream>,
    req: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(target: Target) -> Self {
        Self { target, stream: None, req: Vec::with_capacity(512), buf: Vec::with_capacity(64 * 1024) }
    }

    /// Sends `GET path` and reads the whole answer: its status code.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<u16> {
        self.req.clear();
        self.req.extend_from_slice(b"GET ");
        self.req.extend_from_slice(path.as_bytes());
        self.req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.req.extend_from_slice(self.target.host.as_bytes());
        self.req.extend_from_slice(b"\r\n");
        self.req.extend_from_slice(self.target.auth.as_bytes());
        self.req.extend_from_slice(b"\r\n");
        let fresh = self.stream.is_none();
        let answer = match self.exchange().await {
            // A kept-alive connection the server closed meanwhile (nothing came back): once more
            // on a new one. An answer broken off midway is an error, not sent again.
            Err(_) if !fresh && self.buf.is_empty() => {
                self.stream = None;
                self.exchange().await
            }
            answer => answer,
        };
        if answer.is_err() {
            // Whatever is left on a failed connection must not be read as the next answer.
            self.stream = None;
        }
        answer
    }

    async fn exchange(&mut self) -> anyhow::Result<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.target.addr)
                .await
                .with_context(|| format!("connect to {}", self.target.addr))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let Some(stream) = self.stream.as_mut() else { unreachable!("connected above") };
        self.buf.clear();
        stream.write_all(&self.req).await?;
        loop {
            if let Some(a) = parse_answer(&self.buf)? {
                if (100..200).contains(&a.status) {
                    // An interim answer (100 Continue, 103 Early Hints): the final one follows.
                    self.buf.drain(..a.len);
                    continue;
                }
                if a.close {
                    self.stream = None;
                }
                return Ok(a.status);
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(self.buf.capacity().max(4096));
            }
            let n = stream.read_buf(&mut self.buf).await?;
            anyhow::ensure!(n > 0, "the server closed the connection mid-answer");
        }
    }
}

/// A complete answer found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: u16,
    /// Bytes of the buffer it takes, head and body.
    pub len: usize,
    /// The server said it closes the connection after it.
    pub close: bool,
}

/// Whether `buf` starts with a whole HTTP/1.1 answer: `None` while more bytes are needed, an
/// error for what is not HTTP or gives no way to tell where the body ends.
pub(crate) fn parse_answer(buf: &[u8]) -> anyhow::Result<Option<Answer>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        anyhow::ensure!(buf.len() < 64 * 1024, "an answer head longer than 64 KiB");
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("an answer head that is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|s| s.get(2..5))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP/1.x status line: {status_line:?}"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().with_context(|| format!("Content-Length {value:?}"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let body = head_end + 4;
    let end = if chunked {
        match chunked_end(&buf[body..])? {
            Some(n) => body + n,
            None => return Ok(None),
        }
    } else if let Some(n) = length {
        body.checked_add(n).context("a Content-Length beyond memory")?
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        body
    } else {
        anyhow::bail!("an answer with neither Content-Length nor chunked encoding (status {status})");
    };
    Ok((buf.len() >= end).then_some(Answer { status, len: end, close }))
}

/// Where a chunked body ends (its last chunk and the blank line after any trailers), if it has
/// arrived.
fn chunked_end(b: &[u8]) -> anyhow::Result<Option<usize>> {
    let mut at = 0;
    loop {
        let Some(eol) = b[at..].windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let line = std::str::from_utf8(&b[at..at + eol]).context("a chunk size that is not text")?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16).with_context(|| format!("chunk size {hex:?}"))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, if any, then a blank line.
            loop {
                let Some(eol) = b[at..].windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        let end = at.checked_add(size).and_then(|x| x.checked_add(2)).context("a chunk size beyond memory")?;
        if b.len() < end {
            return Ok(None);
        }
        anyhow::ensure!(&b[end - 2..end] == b"\r\n", "a chunk not followed by CRLF");
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `full` is one whole answer: no cut before its end is taken as complete.
    fn assert_complete_only_at_the_end(full: &[u8], status: u16, close: bool) {
        for cut in 0..full.len() {
            assert_eq!(parse_answer(&full[..cut]).unwrap(), None, "complete after only {cut} bytes");
        }
        assert_eq!(parse_answer(full).unwrap(), Some(Answer { status, len: full.len(), close }));
    }

    #[test]
    fn an_answer_ends_where_its_content_length_says_and_not_before() {
        let full = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n[1,2,3]";
        assert_complete_only_at_the_end(full, 200, false);
    }

    #[test]
    fn a_chunked_answer_ends_after_its_last_chunk_and_trailers() {
        let full = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\nA;x=y\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
        assert_complete_only_at_the_end(full, 404, true);
    }

    #[test]
    fn what_is_not_http_or_has_no_length_is_refused() {
        assert!(parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n\r\nbody").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert_eq!(parse_answer(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().map(|a| a.len), Some(27));
        // Lengths past the end of memory are refused, not wrapped around.
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n").is_err());
    }

    #[test]
    fn a_base_url_gives_the_address_and_the_request_head() {
        let t = Target::parse("http://127.0.0.1:8000/", Some("tok")).unwrap();
        assert_eq!((t.addr.as_str(), t.host.as_str()), ("127.0.0.1:8000", "127.0.0.1:8000"));
        assert_eq!(t.auth, "Authorization: Bearer tok\r\n");
        assert_eq!(Target::parse("http://example.test", None).unwrap().addr, "example.test:80");
        assert!(Target::parse("https://127.0.0.1:8000", None).is_err());
        assert!(Target::parse("http://127.0.0.1:8000/api", None).is_err());
    }
}
