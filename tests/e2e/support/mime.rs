//! A mail as the SMTP sink received it: headers unfolded, MIME parts split and decoded
//! (quoted-printable, base64), and what tests look for in it (codes, links, tokens).

use super::app::APP_URL;

/// A mail as the sink received it, with its MIME parts decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (MAIL FROM).
    pub envelope_from: String,
    /// The envelope recipients (RCPT TO).
    pub envelope_to: Vec<String>,
    /// Header fields, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part.
    pub html: String,
    /// The message as received (after dot-unstuffing).
    pub raw: String,
}

impl ReceivedMail {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Subject header.
    pub fn subject(&self) -> &str {
        self.header("Subject").unwrap_or("")
    }

    /// The 6-digit code: the text line made of exactly six digits (None when there is none).
    pub fn code(&self) -> Option<String> {
        self.text
            .lines()
            .map(str::trim_end)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    }

    /// The full link to `{APP_URL}/{page}?token=...` on a line of its own, if present.
    pub fn link(&self, page: &str) -> Option<String> {
        let prefix = format!("{APP_URL}/{page}?token=");
        self.text
            .lines()
            .map(str::trim_end)
            .find(|l| l.starts_with(&prefix))
            .map(str::to_owned)
    }

    /// The token of the link to `page` (panics when the mail has no such link).
    pub fn token(&self, page: &str) -> String {
        let link = self
            .link(page)
            .unwrap_or_else(|| panic!("no {page} link in mail:\n{}", self.text));
        link.split_once("?token=").unwrap().1.to_owned()
    }
}

fn split_head(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn decode_part(headers: &[(String, String)], body: &str) -> String {
    let encoding = header(headers, "Content-Transfer-Encoding").to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            use base64::Engine as _;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 part");
            String::from_utf8(bytes)
                .expect("utf-8 part")
                .replace("\r\n", "\n")
        }
        _ => body.to_owned(),
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2, // soft line break
            b'=' if i + 3 <= bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .expect("utf-8 quoted-printable")
        .replace("\r\n", "\n")
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_owned())
    })
}

pub(super) fn parse_mail(
    envelope_from: String,
    envelope_to: Vec<String>,
    raw: String,
) -> ReceivedMail {
    let (headers, body) = split_head(&raw);
    let mut text = String::new();
    let mut html = String::new();
    let content_type = header(&headers, "Content-Type").to_owned();
    let mut parts: Vec<(Vec<(String, String)>, String)> = Vec::new();
    if let Some(boundary) = boundary(&content_type) {
        let delimiter = format!("--{boundary}");
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
            let (part_headers, part_body) = split_head(chunk);
            let part_body = part_body
                .strip_suffix('\n')
                .unwrap_or(&part_body)
                .to_owned();
            parts.push((part_headers, part_body));
        }
    } else {
        parts.push((headers.clone(), body.clone()));
    }
    for (part_headers, part_body) in parts {
        let kind = header(&part_headers, "Content-Type").to_ascii_lowercase();
        let decoded = decode_part(&part_headers, &part_body);
        if kind.starts_with("text/html") {
            html = decoded;
        } else if kind.starts_with("text/plain") || kind.is_empty() {
            text = decoded;
        }
    }
    ReceivedMail {
        envelope_from,
        envelope_to,
        headers,
        text,
        html,
        raw,
    }
}
