//! Lexer: turns query text into tokens with byte spans.
//!
//! The lexer is position-based and pure: [`lex_at`] reads one token starting at a byte
//! offset in a given [`Mode`]. The parser drives it and picks the mode from context,
//! because the same characters mean different things in different places: after
//! `key:` the value runs up to whitespace or a bracket and may itself contain `:`
//! (`url:https://x` splits at the *first* `:`), while elsewhere `:` and the comparison
//! characters end a word. [`tokenize`] lexes a whole query with a mode heuristic, for
//! syntax highlighting.
//!
//! This module also classifies literal text: numbers ([`parse_number`]) and durations
//! with units ([`parse_duration`]).

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// How the next token is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keys, bare search words, operators and structural tokens: a word ends at
    /// whitespace, a bracket, `|`, `&&`, or one of `: = ! < > ~`.
    Normal,
    /// A value after a comparison operator or inside a value group: a word ends only
    /// at whitespace, a bracket, `|` or `&&`.
    Value,
    /// Arguments of a pipeline function such as `by(a, b)`: like [`Mode::Normal`],
    /// and `,` separates arguments.
    Args,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    /// A bare word (key, value, search word, number, duration or function name), as typed.
    Word(String),
    /// A quoted string, without its quotes and with escapes resolved.
    Str(String),
    /// A regular expression (`/re/` or a quoted `"/re/"`): the text between the slashes.
    Regex(String),
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>` (greater than, or the child operator between spansets)
    Gt,
    /// `>=`
    Ge,
    /// `<` (less than, or the parent operator between spansets)
    Lt,
    /// `<=`
    Le,
    /// `>>` (descendant)
    GtGt,
    /// `<<` (ancestor)
    LtLt,
    /// `~` (sibling)
    Tilde,
    /// `|` (pipeline)
    Pipe,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,` (only in [`Mode::Args`])
    Comma,
    /// The keyword `AND`, any case.
    And,
    /// The keyword `OR`, any case.
    Or,
    /// The keyword `NOT`, any case.
    Not,
    /// The keyword `EXISTS`, any case.
    Exists,
    /// End of the query.
    Eof,
}

impl TokenKind {
    /// How the token is named in error messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Word(w) => format!("`{w}`"),
            TokenKind::Str(_) => "a quoted string".to_string(),
            TokenKind::Regex(_) => "a regular expression".to_string(),
            TokenKind::Eof => "the end of the query".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    /// The fixed text of a punctuation or keyword token (empty for words, strings, regexes, end).
    pub fn symbol(&self) -> &'static str {
        match self {
            TokenKind::Colon => ":",
            TokenKind::Eq => "=",
            TokenKind::Ne => "!=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::GtGt => ">>",
            TokenKind::LtLt => "<<",
            TokenKind::Tilde => "~",
            TokenKind::Pipe => "|",
            TokenKind::AndAnd => "&&",
            TokenKind::OrOr => "||",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::Comma => ",",
            TokenKind::And => "AND",
            TokenKind::Or => "OR",
            TokenKind::Not => "NOT",
            TokenKind::Exists => "EXISTS",
            TokenKind::Word(_) | TokenKind::Str(_) | TokenKind::Regex(_) | TokenKind::Eof => "",
        }
    }

    /// True for the comparison operators `: = != > >= < <=`.
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            TokenKind::Colon
                | TokenKind::Eq
                | TokenKind::Ne
                | TokenKind::Gt
                | TokenKind::Ge
                | TokenKind::Lt
                | TokenKind::Le
        )
    }
}

/// A token and the byte range `start..end` it covers in the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
}

/// The keyword a bare word stands for, if any (`and`, `Or`, `NOT`, `exists`, ...).
pub fn keyword(word: &str) -> Option<TokenKind> {
    if word.eq_ignore_ascii_case("and") {
        Some(TokenKind::And)
    } else if word.eq_ignore_ascii_case("or") {
        Some(TokenKind::Or)
    } else if word.eq_ignore_ascii_case("not") {
        Some(TokenKind::Not)
    } else if word.eq_ignore_ascii_case("exists") {
        Some(TokenKind::Exists)
    } else {
        None
    }
}

/// Whether `c` at `rest` (the text starting with `c`) ends a bare word in `mode`.
fn ends_word(rest: &str, c: char, mode: Mode) -> bool {
    if c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}' | '|') || rest.starts_with("&&") {
        return true;
    }
    match mode {
        Mode::Value => false,
        Mode::Normal => matches!(c, ':' | '=' | '!' | '<' | '>' | '~'),
        Mode::Args => matches!(c, ':' | '=' | '!' | '<' | '>' | '~' | ','),
    }
}

/// Whether a closing `/` at the start of `rest` (just after it) ends a regex.
fn ends_regex(after: &str) -> bool {
    match after.chars().next() {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, ')' | '}' | '|') || after.starts_with("&&"),
    }
}

/// Byte offset of the first non-whitespace character at or after `pos`.
fn skip_ws(src: &str, pos: usize) -> usize {
    let rest = src.get(pos..).unwrap_or("");
    let trimmed = rest.trim_start();
    pos + (rest.len() - trimmed.len())
}

/// Reads the token at or after byte offset `pos` (whitespace is skipped) in `mode`.
///
/// `pos` must be a character boundary of `src` (offsets returned in tokens always are);
/// an offset past the end yields [`TokenKind::Eof`].
pub fn lex_at(src: &str, pos: usize, mode: Mode) -> Result<Token, ParseError> {
    let start = skip_ws(src, pos.min(src.len()));
    let Some(rest) = src.get(start..) else {
        return Err(ParseError::new(
            "internal: offset is not a character boundary",
            pos,
            pos,
        ));
    };
    let tok = |kind: TokenKind, len: usize| Token {
        kind,
        start,
        end: start + len,
    };
    let Some(c) = rest.chars().next() else {
        return Ok(tok(TokenKind::Eof, 0));
    };
    match c {
        '(' => return Ok(tok(TokenKind::LParen, 1)),
        ')' => return Ok(tok(TokenKind::RParen, 1)),
        '{' => return Ok(tok(TokenKind::LBrace, 1)),
        '}' => return Ok(tok(TokenKind::RBrace, 1)),
        '|' if rest.starts_with("||") => return Ok(tok(TokenKind::OrOr, 2)),
        '|' => return Ok(tok(TokenKind::Pipe, 1)),
        '&' if rest.starts_with("&&") => return Ok(tok(TokenKind::AndAnd, 2)),
        ',' if mode == Mode::Args => return Ok(tok(TokenKind::Comma, 1)),
        '"' | '\'' | '`' => return lex_string(src, start, c),
        '/' => {
            if let Some(t) = lex_bare_regex(src, start)? {
                return Ok(t);
            }
        }
        _ => {}
    }
    if mode != Mode::Value {
        let op = match c {
            ':' => Some((TokenKind::Colon, 1)),
            '=' => Some((TokenKind::Eq, 1)),
            '~' => Some((TokenKind::Tilde, 1)),
            '!' if rest.starts_with("!=") => Some((TokenKind::Ne, 2)),
            '!' => {
                return Err(ParseError::new(
                    "unexpected `!`: write `!=` for \"not equal\" or NOT to negate a term",
                    start,
                    start + 1,
                )
                .expecting(["`!=`", "NOT"]));
            }
            '>' if rest.starts_with(">=") => Some((TokenKind::Ge, 2)),
            '>' if rest.starts_with(">>") => Some((TokenKind::GtGt, 2)),
            '>' => Some((TokenKind::Gt, 1)),
            '<' if rest.starts_with("<=") => Some((TokenKind::Le, 2)),
            '<' if rest.starts_with("<<") => Some((TokenKind::LtLt, 2)),
            '<' => Some((TokenKind::Lt, 1)),
            _ => None,
        };
        if let Some((kind, len)) = op {
            return Ok(tok(kind, len));
        }
    }
    // A bare word: up to the first character that ends a word in this mode.
    let mut end = rest.len();
    for (i, ch) in rest.char_indices() {
        if i > 0 && ends_word(&rest[i..], ch, mode) {
            end = i;
            break;
        }
    }
    let text = &rest[..end];
    let kind = keyword(text).unwrap_or_else(|| TokenKind::Word(text.to_string()));
    Ok(tok(kind, end))
}

/// A bare `/re/` starting at `start`, if the text there is one: the body runs to the
/// first unescaped `/` that is followed by whitespace, a closing bracket, `|`, `,`,
/// `&&` or the end, and contains no unescaped whitespace.
///
/// Text such as `/^(GET|POST) \/api/` is refused with a hint to quote it: at its first
/// whitespace it already holds regex syntax (a bracket, `|`, `^`, `$` or an escape) that
/// no bare word can hold, and a later `/` would close it as a regex.
fn lex_bare_regex(src: &str, start: usize) -> Result<Option<Token>, ParseError> {
    let body_start = start + 1;
    let Some(rest) = src.get(body_start..) else {
        return Ok(None);
    };
    let mut chars = rest.char_indices();
    let mut regex_syntax = false;
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            // keep the escape pair as written; the regex engine understands `\/`
            regex_syntax = true;
            chars.next();
            continue;
        }
        if c.is_whitespace() {
            return match closing_slash(&rest[i..]) {
                Some(close) if regex_syntax => Err(ParseError::new(
                    "quote a regex that contains spaces: write it as \"/…/\"",
                    start,
                    body_start + i + close + 1,
                )
                .expecting(["a quoted regex"])),
                _ => Ok(None),
            };
        }
        regex_syntax |= matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$');
        if c == '/' && ends_regex(&rest[i + 1..]) {
            return Ok(Some(Token {
                kind: TokenKind::Regex(rest[..i].to_string()),
                start,
                end: body_start + i + 1,
            }));
        }
    }
    Ok(None)
}

/// Byte offset in `text` of the first unescaped `/` that would close a regex.
fn closing_slash(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '/' && ends_regex(&text[i + 1..]) {
            return Some(i);
        }
    }
    None
}

/// A quoted string starting with `quote` at `start`. A backslash escapes the quote
/// character or a backslash; any other backslash is kept as typed. A string whose
/// content is `/…/` is a regular expression.
fn lex_string(src: &str, start: usize, quote: char) -> Result<Token, ParseError> {
    let rest = src.get(start + quote.len_utf8()..).unwrap_or("");
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, n)) if n == quote || n == '\\' => out.push(n),
                Some((_, n)) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else if c == quote {
            let end = start + quote.len_utf8() + i + c.len_utf8();
            let kind = match out.strip_prefix('/').and_then(|s| s.strip_suffix('/')) {
                Some(body) if out.len() >= 2 => TokenKind::Regex(body.to_string()),
                _ => TokenKind::Str(out),
            };
            return Ok(Token { kind, start, end });
        } else {
            out.push(c);
        }
    }
    Err(ParseError::new(
        format!("unterminated string: the {quote} opened here is never closed"),
        start,
        src.len(),
    )
    .expecting([format!("a closing {quote}")]))
}

/// Lexes a whole query for syntax highlighting.
///
/// The mode is chosen by a heuristic that matches the parser for well-formed queries:
/// the token after a comparison operator is a value, and so is everything inside a
/// parenthesised group that directly follows one; arguments of `by(` use
/// [`Mode::Args`]. The returned tokens end with [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut out: Vec<Token> = Vec::new();
    let mut pos = 0;
    let mut after_op = false;
    let mut group_depth = 0usize; // > 0 while inside a value group
    let mut args_depth = false;
    loop {
        let mode = if after_op || group_depth > 0 {
            Mode::Value
        } else if args_depth {
            Mode::Args
        } else {
            Mode::Normal
        };
        let t = lex_at(src, pos, mode)?;
        pos = t.end;
        let kind = t.kind.clone();
        let prev_by = matches!(out.last(), Some(Token { kind: TokenKind::Word(w), .. }) if w.eq_ignore_ascii_case("by"));
        out.push(t);
        match kind {
            TokenKind::Eof => return Ok(out),
            TokenKind::LParen if after_op || group_depth > 0 => {
                group_depth += 1;
                after_op = false;
            }
            TokenKind::LParen if prev_by => args_depth = true,
            TokenKind::RParen if group_depth > 0 => group_depth -= 1,
            TokenKind::RParen => args_depth = false,
            TokenKind::Not if after_op => {}
            k if k.is_comparison() && group_depth == 0 => after_op = true,
            _ => after_op = false,
        }
    }
}

/// A number written in a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer that fits in `i64`.
    Int(i64),
    /// A number with a fractional part (or an integer too large for `i64`).
    Float(f64),
}

impl Number {
    /// The number as `f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// Parses `-?digits` or `-?digits.digits`; anything else is not a number.
pub fn parse_number(text: &str) -> Option<Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    if frac.is_none()
        && let Ok(i) = text.parse::<i64>()
    {
        return Some(Number::Int(i));
    }
    text.parse::<f64>().ok().map(Number::Float)
}

/// The duration units accepted in queries, for error messages.
pub const DURATION_UNITS: [&str; 7] = ["ns", "us", "µs", "ms", "s", "m", "h"];

/// How a word reads as a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationLit {
    /// A valid duration, in nanoseconds (`250ms`, `1.5s`, `1h30m`).
    Nanos(i64),
    /// A number followed by a unit we do not know (`5xs`, `10sec`): the unit.
    BadUnit(String),
    /// A valid duration too large for `i64` nanoseconds.
    TooLarge,
    /// Not shaped like a duration at all.
    NotDuration,
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a duration: one or more `number unit` parts (`250ms`, `1.5s`, `1h30m`),
/// with units `ns us µs ms s m h` (any case). A bare number is not a duration.
pub fn parse_duration(text: &str) -> DurationLit {
    let is_unit_char = |c: char| c.is_alphabetic();
    let mut rest = text;
    let mut total: u128 = 0;
    if rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return DurationLit::NotDuration;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        let after = &rest[num_len..];
        let unit_len = after
            .find(|c: char| !is_unit_char(c))
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        if num.is_empty() || unit.is_empty() {
            return DurationLit::NotDuration;
        }
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty()
            || int.contains('.')
            || frac.contains('.')
            || (num.contains('.') && frac.is_empty())
        {
            return DurationLit::NotDuration;
        }
        let Some(scale) = unit_nanos(unit) else {
            // only call it a bad unit when the whole word is `digits letters`-shaped
            let tail = &after[unit_len..];
            if tail.is_empty() || tail.starts_with(|c: char| c.is_ascii_digit()) {
                return DurationLit::BadUnit(unit.to_string());
            }
            return DurationLit::NotDuration;
        };
        let Ok(int_v) = int.parse::<u128>() else {
            return DurationLit::TooLarge;
        };
        let mut part = int_v.saturating_mul(scale);
        // fractional digits, exact up to nanoseconds
        let mut div: u128 = 1;
        for d in frac.bytes().take(18) {
            div *= 10;
            part = part.saturating_add(u128::from(d - b'0') * scale / div);
        }
        total = total.saturating_add(part);
        rest = &after[unit_len..];
    }
    match i64::try_from(total) {
        Ok(v) => DurationLit::Nanos(v),
        Err(_) => DurationLit::TooLarge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<TokenKind> {
        tokenize(q).unwrap().into_iter().map(|t| t.kind).collect()
    }
    fn w(s: &str) -> TokenKind {
        TokenKind::Word(s.to_string())
    }

    #[test]
    fn key_value_splits_at_first_colon() {
        assert_eq!(
            kinds("http.url:https://x.io/a"),
            vec![
                w("http.url"),
                TokenKind::Colon,
                w("https://x.io/a"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("a=1 b!=2 c>3 d>=4 e<5 f<=6"),
            vec![
                w("a"),
                TokenKind::Eq,
                w("1"),
                w("b"),
                TokenKind::Ne,
                w("2"),
                w("c"),
                TokenKind::Gt,
                w("3"),
                w("d"),
                TokenKind::Ge,
                w("4"),
                w("e"),
                TokenKind::Lt,
                w("5"),
                w("f"),
                TokenKind::Le,
                w("6"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn structural_tokens() {
        assert_eq!(
            kinds("{a} >> {b} && {} || {} ~ {} << {} | count() > 3"),
            vec![
                TokenKind::LBrace,
                w("a"),
                TokenKind::RBrace,
                TokenKind::GtGt,
                TokenKind::LBrace,
                w("b"),
                TokenKind::RBrace,
                TokenKind::AndAnd,
                TokenKind::LBrace,
                TokenKind::RBrace,
                TokenKind::OrOr,
                TokenKind::LBrace,
                TokenKind::RBrace,
                TokenKind::Tilde,
                TokenKind::LBrace,
                TokenKind::RBrace,
                TokenKind::LtLt,
                TokenKind::LBrace,
                TokenKind::RBrace,
                TokenKind::Pipe,
                w("count"),
                TokenKind::LParen,
                TokenKind::RParen,
                TokenKind::Gt,
                w("3"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn keywords_any_case() {
        assert_eq!(
            kinds("a and b Or NOT c eXiStS"),
            vec![
                w("a"),
                TokenKind::And,
                w("b"),
                TokenKind::Or,
                TokenKind::Not,
                w("c"),
                TokenKind::Exists,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn quoting_styles_and_escapes() {
        assert_eq!(
            kinds(r#""a \"b\" c" 'it\'s' `x\`y` "back\\slash" "c:\dir""#),
            vec![
                TokenKind::Str("a \"b\" c".into()),
                TokenKind::Str("it's".into()),
                TokenKind::Str("x`y".into()),
                TokenKind::Str("back\\slash".into()),
                TokenKind::Str("c:\\dir".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_quote() {
        let e = tokenize("name:\"abc").unwrap_err();
        assert_eq!((e.start, e.end), (5, 9));
        assert!(e.message.contains("unterminated"));
    }

    #[test]
    fn regexes() {
        assert_eq!(
            kinds("/GET.*/ a:/^x(y|z)$/ b:/api/orders c:/a\\/b/ \"/x y/\""),
            vec![
                TokenKind::Regex("GET.*".into()),
                w("a"),
                TokenKind::Colon,
                TokenKind::Regex("^x(y|z)$".into()),
                w("b"),
                TokenKind::Colon,
                w("/api/orders"),
                w("c"),
                TokenKind::Colon,
                TokenKind::Regex("a\\/b".into()),
                TokenKind::Regex("x y".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn a_bare_regex_with_a_space_asks_for_quotes() {
        let q = "span_name=/^(GET|POST) \\/api/";
        let e = tokenize(q).unwrap_err();
        assert!(
            e.message.contains("quote a regex that contains spaces"),
            "{e}"
        );
        assert_eq!((e.start, e.end), (10, q.len()));
        let e = crate::parse("/a\\d b/").unwrap_err();
        assert!(e.message.contains("quote a regex"), "{e}");
        // Quoted, it is a regex; without regex syntax before the space, words stay words.
        assert_eq!(
            kinds("\"/^(GET|POST) \\/api/\""),
            vec![
                TokenKind::Regex("^(GET|POST) \\/api".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("/api/v1 b:/x/"),
            vec![
                w("/api/v1"),
                w("b"),
                TokenKind::Colon,
                TokenKind::Regex("x".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn value_group_mode() {
        assert_eq!(
            kinds("k:(a:b OR c)"),
            vec![
                w("k"),
                TokenKind::Colon,
                TokenKind::LParen,
                w("a:b"),
                TokenKind::Or,
                w("c"),
                TokenKind::RParen,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn by_args() {
        assert_eq!(
            kinds("by(a,b)"),
            vec![
                w("by"),
                TokenKind::LParen,
                w("a"),
                TokenKind::Comma,
                w("b"),
                TokenKind::RParen,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let toks = tokenize("µ:\"é\" x").unwrap();
        assert_eq!((toks[0].start, toks[0].end), (0, 2));
        assert_eq!((toks[1].start, toks[1].end), (2, 3));
        assert_eq!((toks[2].start, toks[2].end), (3, 7));
        assert_eq!((toks[3].start, toks[3].end), (8, 9));
    }

    #[test]
    fn lone_bang_is_an_error() {
        let e = tokenize("a ! b").unwrap_err();
        assert_eq!((e.start, e.end), (2, 3));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), DurationLit::Nanos(250_000_000));
        assert_eq!(parse_duration("1.5s"), DurationLit::Nanos(1_500_000_000));
        assert_eq!(parse_duration("300us"), DurationLit::Nanos(300_000));
        assert_eq!(parse_duration("300µs"), DurationLit::Nanos(300_000));
        assert_eq!(parse_duration("7ns"), DurationLit::Nanos(7));
        assert_eq!(parse_duration("2m"), DurationLit::Nanos(120_000_000_000));
        assert_eq!(
            parse_duration("1h30m"),
            DurationLit::Nanos(5_400_000_000_000)
        );
        assert_eq!(parse_duration("5MS"), DurationLit::Nanos(5_000_000));
        assert_eq!(parse_duration("5xs"), DurationLit::BadUnit("xs".into()));
        assert_eq!(parse_duration("10sec"), DurationLit::BadUnit("sec".into()));
        assert_eq!(parse_duration("42"), DurationLit::NotDuration);
        assert_eq!(parse_duration("abc"), DurationLit::NotDuration);
        assert_eq!(parse_duration("5ms-x"), DurationLit::NotDuration);
        assert_eq!(parse_duration("1.s"), DurationLit::NotDuration);
        assert_eq!(parse_duration("99999999999999999h"), DurationLit::TooLarge);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(Number::Int(42)));
        assert_eq!(parse_number("-7"), Some(Number::Int(-7)));
        assert_eq!(parse_number("1.25"), Some(Number::Float(1.25)));
        assert_eq!(parse_number("1."), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("1e5"), None);
        assert!(matches!(
            parse_number("99999999999999999999"),
            Some(Number::Float(_))
        ));
    }
}
