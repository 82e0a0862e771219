//! One canonical path per request, computed once before routing.
//!
//! Routing (`pathregexp`), free paths (`authwhitelistpaths`), capability rules and rate limits all match
//! a path, and the backend then resolves that path again. If the two read it differently, a request can
//! be admitted as one path and served as another: `/free/../paid` matches a free prefix, and a backend
//! that resolves dot segments serves `/paid`. So the proxy reads the path once, the way a careful backend
//! would, and both its own decisions and the backend see exactly that path:
//!
//! - percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, every other escape is
//!   kept with upper-case hex (RFC 3986 §6.2.2);
//! - dot segments are removed (RFC 3986 §5.2.4): `/a/./b/../c` is `/a/c`;
//! - a path no two programs are sure to read the same way is refused: an encoded `/` (`%2F`), a
//!   backslash (raw or `%5C`), NUL (`%00`), an encoded dot segment (`%2e%2e`, `.%2E`, …), a malformed
//!   escape, or a path that does not start with `/`.
//!
//! The query string is not part of the path and is passed on unchanged.

use std::fmt::Write as _;

/// Why a path is refused (answered 400, or gRPC `INVALID_ARGUMENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the path must start with /")]
    NotAbsolute,
    /// `%` not followed by two hex digits.
    #[error("malformed percent-encoding in the path")]
    BadEscape,
    /// `%2F`: a separator hidden from routing.
    #[error("an encoded / in the path is not accepted")]
    EncodedSlash,
    /// `\` or `%5C`: some servers treat it as a separator.
    #[error("a backslash in the path is not accepted")]
    Backslash,
    /// `%00`.
    #[error("an encoded NUL in the path is not accepted")]
    Nul,
    /// A segment that is `.` or `..` only once decoded.
    #[error("an encoded dot segment in the path is not accepted")]
    EncodedDotSegment,
}

/// The canonical form of `raw` (a request's path, without the query), or why it is refused.
pub fn canonicalize(raw: &str) -> Result<String, PathError> {
    if raw == "*" {
        // The asterisk form of `OPTIONS *`: no resource, nothing to resolve.
        return Ok(raw.to_owned());
    }
    let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut segments: Vec<String> = Vec::new();
    let mut ends_with_slash = false;
    for raw_segment in rest.split('/') {
        let segment = normalize_segment(raw_segment)?;
        ends_with_slash = matches!(segment.as_str(), "" | "." | "..");
        match segment.as_str() {
            "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    // An empty last segment is the trailing slash itself, not a segment to keep.
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    let mut path = String::with_capacity(raw.len());
    for segment in &segments {
        path.push('/');
        path.push_str(segment);
    }
    if ends_with_slash || path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

/// One segment with unreserved escapes decoded and the rest upper-cased; dot segments that were encoded
/// are refused.
fn normalize_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut encoded = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err(PathError::Backslash),
            b'%' => {
                let byte = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or(PathError::BadEscape)?;
                match byte {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    0 => return Err(PathError::Nul),
                    b if is_unreserved(b) => {
                        encoded = true;
                        out.push(b as char);
                    }
                    b => {
                        let _ = write!(out, "%{b:02X}");
                    }
                }
                i += 3;
            }
            _ => {
                // Not an escape: copy the UTF-8 character as it is.
                let len = utf8_len(bytes[i]);
                out.push_str(&raw[i..i + len]);
                i += len;
            }
        }
    }
    if encoded && (out == "." || out == "..") {
        return Err(PathError::EncodedDotSegment);
    }
    Ok(out)
}

/// RFC 3986's unreserved characters.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The length of the UTF-8 character starting with `first` (the input is a `&str`, so it is valid).
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_removed() {
        for (raw, canonical) in [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/files/public/../paid/secret.txt", "/files/paid/secret.txt"),
            ("/a/../b/x", "/b/x"),
            ("/a/./b/", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/..", "/"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a//b", "/a//b"),
            (
                "/looprpc.SwapServer/LoopOutTerms",
                "/looprpc.SwapServer/LoopOutTerms",
            ),
            ("*", "*"),
        ] {
            assert_eq!(canonicalize(raw).as_deref(), Ok(canonical), "{raw}");
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_kept_upper_case() {
        assert_eq!(
            canonicalize("/%70aid/%7Euser").as_deref(),
            Ok("/paid/~user")
        );
        assert_eq!(
            canonicalize("/a%20b/%c3%a9").as_deref(),
            Ok("/a%20b/%C3%A9")
        );
        assert_eq!(canonicalize("/é").as_deref(), Ok("/é"));
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for (raw, error) in [
            ("/files/public/%2e%2e/paid", PathError::EncodedDotSegment),
            ("/files/public/.%2E/paid", PathError::EncodedDotSegment),
            ("/files/public/%2e/paid", PathError::EncodedDotSegment),
            ("/files/public/..%2fpaid", PathError::EncodedSlash),
            ("/files/public%2F..%2Fpaid", PathError::EncodedSlash),
            ("/files\\paid", PathError::Backslash),
            ("/files%5cpaid", PathError::Backslash),
            ("/files%00.txt", PathError::Nul),
            ("/bad%zz", PathError::BadEscape),
            ("/bad%4", PathError::BadEscape),
            ("relative", PathError::NotAbsolute),
        ] {
            assert_eq!(canonicalize(raw), Err(error), "{raw}");
        }
    }
}
