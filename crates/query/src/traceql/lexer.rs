//! TraceQL tokens with byte spans.
//!
//! Attributes are one token each (`.http.method`, `span."name with space"`,
//! `resource.service.name`), and so are scoped intrinsics (`span:duration`): what ends an
//! attribute name is whitespace or one of `{ } ( ) = ~ ! < > & | ^ , + * / % "`, except
//! inside a quoted part. Numbers with a unit are durations.

use crate::error::ParseError;
use crate::lexer::{DURATION_UNITS, DurationLit, Number, parse_duration, parse_number};

/// The attribute scopes a `scope.` prefix names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrScope {
    /// `.name`: span or resource.
    Unscoped,
    /// `span.`
    Span,
    /// `resource.`
    Resource,
    /// `event.`
    Event,
    /// `link.`
    Link,
    /// `instrumentation.`
    Instrumentation,
}

impl AttrScope {
    fn of_word(word: &str) -> Option<AttrScope> {
        Some(match word {
            "span" => AttrScope::Span,
            "resource" => AttrScope::Resource,
            "event" => AttrScope::Event,
            "link" => AttrScope::Link,
            "instrumentation" => AttrScope::Instrumentation,
            _ => return None,
        })
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Pipe,
    Comma,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!`
    Bang,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `=~`
    Re,
    /// `!~`: negated regex between fields, not-sibling between spansets.
    NotRe,
    /// `>>`
    Desc,
    /// `<<`
    Anc,
    /// `~`
    Tilde,
    /// `!>`
    NotChild,
    /// `!>>`
    NotDesc,
    /// `!<`
    NotParent,
    /// `!<<`
    NotAnc,
    /// `&>`
    UnionChild,
    /// `&>>`
    UnionDesc,
    /// `&<`
    UnionParent,
    /// `&<<`
    UnionAnc,
    /// `&~`
    UnionSibling,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    /// A string literal, escapes resolved.
    Str(String),
    Int(i64),
    Float(f64),
    /// A duration literal in nanoseconds.
    Duration(i64),
    /// A bare word: an unscoped intrinsic, a keyword or a function name.
    Ident(String),
    /// An attribute: its scope and its name.
    Attr(AttrScope, String),
    /// A scoped intrinsic such as `span:duration`: the scope word and the name.
    Intrinsic(String, String),
}

impl Tok {
    /// How a message names the token.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Int(i) => format!("the number {i}"),
            Tok::Float(f) => format!("the number {f}"),
            Tok::Duration(_) => "a duration".into(),
            Tok::Ident(w) => format!("`{w}`"),
            Tok::Attr(..) => "an attribute".into(),
            Tok::Intrinsic(scope, name) => format!("`{scope}:{name}`"),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Pipe => "|",
            Tok::Comma => ",",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::Eq => "=",
            Tok::Ne => "!=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Re => "=~",
            Tok::NotRe => "!~",
            Tok::Desc => ">>",
            Tok::Anc => "<<",
            Tok::Tilde => "~",
            Tok::NotChild => "!>",
            Tok::NotDesc => "!>>",
            Tok::NotParent => "!<",
            Tok::NotAnc => "!<<",
            Tok::UnionChild => "&>",
            Tok::UnionDesc => "&>>",
            Tok::UnionParent => "&<",
            Tok::UnionAnc => "&<<",
            Tok::UnionSibling => "&~",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Caret => "^",
            _ => "",
        }
    }
}

/// A token and where it is in the query.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Operators, longest first so that `!>>` is not read as `!>` `>`.
const OPERATORS: [(&str, Tok); 35] = [
    ("!>>", Tok::NotDesc),
    ("!<<", Tok::NotAnc),
    ("&>>", Tok::UnionDesc),
    ("&<<", Tok::UnionAnc),
    ("&&", Tok::AndAnd),
    ("||", Tok::OrOr),
    ("!=", Tok::Ne),
    ("!~", Tok::NotRe),
    ("!>", Tok::NotChild),
    ("!<", Tok::NotParent),
    ("&>", Tok::UnionChild),
    ("&<", Tok::UnionParent),
    ("&~", Tok::UnionSibling),
    ("=~", Tok::Re),
    (">>", Tok::Desc),
    ("<<", Tok::Anc),
    (">=", Tok::Ge),
    ("<=", Tok::Le),
    ("{", Tok::LBrace),
    ("}", Tok::RBrace),
    ("(", Tok::LParen),
    (")", Tok::RParen),
    ("|", Tok::Pipe),
    (",", Tok::Comma),
    ("!", Tok::Bang),
    ("=", Tok::Eq),
    (">", Tok::Gt),
    ("<", Tok::Lt),
    ("~", Tok::Tilde),
    ("+", Tok::Plus),
    ("-", Tok::Minus),
    ("*", Tok::Star),
    ("/", Tok::Slash),
    ("%", Tok::Percent),
    ("^", Tok::Caret),
];

/// Characters that end an unquoted attribute name.
fn ends_attribute(c: char) -> bool {
    c.is_whitespace() || "{}()=~!<>&|^,+*/%\"`".contains(c)
}

/// Splits a query into tokens.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(c) = src[pos..].chars().next() {
        if c.is_whitespace() {
            pos += c.len_utf8();
            continue;
        }
        let (tok, end) = token_at(src, pos, c)?;
        out.push(Token {
            tok,
            start: pos,
            end,
        });
        pos = end;
    }
    Ok(out)
}

fn token_at(src: &str, pos: usize, c: char) -> Result<(Tok, usize), ParseError> {
    let rest = &src[pos..];
    if c == '"' || c == '`' {
        let (text, end) = string_at(src, pos, c, true)?;
        return Ok((Tok::Str(text), end));
    }
    if c == '.' {
        let (name, end) = attribute_name(src, pos + 1)?;
        return Ok((Tok::Attr(AttrScope::Unscoped, name), end));
    }
    if c.is_ascii_digit() {
        return number_at(src, pos);
    }
    if c.is_alphabetic() || c == '_' {
        return word_at(src, pos);
    }
    for (text, tok) in &OPERATORS {
        if rest.starts_with(text) {
            return Ok((tok.clone(), pos + text.len()));
        }
    }
    Err(ParseError::new(
        format!("unexpected character `{c}`"),
        pos,
        pos + c.len_utf8(),
    ))
}

/// A string from its opening quote: `"…"` with escapes, or `` `…` `` raw. Attribute names
/// (`full: false`) know only `\"` and `\\`.
fn string_at(
    src: &str,
    pos: usize,
    quote: char,
    full: bool,
) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = src[pos + 1..].char_indices();
    while let Some((i, ch)) = chars.next() {
        let at = pos + 1 + i;
        if ch == quote {
            return Ok((out, at + 1));
        }
        if ch != '\\' || quote == '`' {
            out.push(ch);
            continue;
        }
        let Some((_, esc)) = chars.next() else {
            break;
        };
        let resolved = match esc {
            '"' | '\\' => esc,
            'n' if full => '\n',
            't' if full => '\t',
            'r' if full => '\r',
            _ => {
                return Err(ParseError::new(
                    format!("unknown escape `\\{esc}`"),
                    at,
                    at + 1 + esc.len_utf8(),
                )
                .expecting(["`\\\"`", "`\\\\`"]));
            }
        };
        out.push(resolved);
    }
    Err(ParseError::new("unterminated string", pos, src.len()).expecting([format!("`{quote}`")]))
}

/// An attribute name from `pos` (after the scope's dot): unquoted runs and quoted parts.
fn attribute_name(src: &str, pos: usize) -> Result<(String, usize), ParseError> {
    let mut name = String::new();
    let mut at = pos;
    while let Some(c) = src[at..].chars().next() {
        if c == '"' {
            let (part, end) = string_at(src, at, '"', false)?;
            name.push_str(&part);
            at = end;
        } else if ends_attribute(c) {
            break;
        } else {
            name.push(c);
            at += c.len_utf8();
        }
    }
    if name.is_empty() {
        return Err(
            ParseError::new("expected an attribute name after `.`", pos, pos)
                .expecting(["an attribute name"]),
        );
    }
    Ok((name, at))
}

fn number_at(src: &str, pos: usize) -> Result<(Tok, usize), ParseError> {
    let len = src[pos..]
        .find(|c: char| !(c.is_alphanumeric() || c == '.'))
        .unwrap_or(src.len() - pos);
    let end = pos + len;
    let text = &src[pos..end];
    if let Some(n) = parse_number(text) {
        return Ok((
            match n {
                Number::Int(i) => Tok::Int(i),
                Number::Float(f) => Tok::Float(f),
            },
            end,
        ));
    }
    match parse_duration(text) {
        DurationLit::Nanos(ns) => Ok((Tok::Duration(ns), end)),
        DurationLit::TooLarge => Err(ParseError::new("duration too large", pos, end)),
        DurationLit::BadUnit(unit) => {
            Err(
                ParseError::new(format!("unknown duration unit `{unit}`"), pos, end)
                    .expecting(DURATION_UNITS),
            )
        }
        DurationLit::NotDuration => Err(ParseError::new(
            format!("`{text}` is not a number or a duration"),
            pos,
            end,
        )),
    }
}

fn word_at(src: &str, pos: usize) -> Result<(Tok, usize), ParseError> {
    let len = src[pos..]
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(src.len() - pos);
    let end = pos + len;
    let word = &src[pos..end];
    match src[end..].chars().next() {
        Some('.') => match AttrScope::of_word(word) {
            Some(scope) => {
                let (name, end) = attribute_name(src, end + 1)?;
                Ok((Tok::Attr(scope, name), end))
            }
            None => Err(ParseError::new(
                format!("`{word}.` is not a scope: an attribute is written `.name` or `span.name`"),
                pos,
                end + 1,
            )
            .expecting([
                "`.`",
                "`span.`",
                "`resource.`",
                "`event.`",
                "`link.`",
                "`instrumentation.`",
            ])),
        },
        Some(':') if word != "with" => {
            let name_start = end + 1;
            let name_len = src[name_start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(src.len() - name_start);
            if name_len == 0 {
                return Err(ParseError::new(
                    format!("expected an intrinsic name after `{word}:`"),
                    name_start,
                    name_start,
                ));
            }
            let name = &src[name_start..name_start + name_len];
            Ok((
                Tok::Intrinsic(word.to_string(), name.to_string()),
                name_start + name_len,
            ))
        }
        _ => Ok((Tok::Ident(word.to_string()), end)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Tok> {
        tokenize(q).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn attributes_are_one_token_with_quoted_parts() {
        assert_eq!(
            toks(r#"{ span.attribute."name with space" = "v" }"#),
            vec![
                Tok::LBrace,
                Tok::Attr(AttrScope::Span, "attribute.name with space".into()),
                Tok::Eq,
                Tok::Str("v".into()),
                Tok::RBrace
            ]
        );
        assert_eq!(
            toks(".http.status_code>=500"),
            vec![
                Tok::Attr(AttrScope::Unscoped, "http.status_code".into()),
                Tok::Ge,
                Tok::Int(500)
            ]
        );
    }

    #[test]
    fn operators_are_read_longest_first() {
        assert_eq!(
            toks("!>> &>> !< &~ !~ =~ >> >="),
            vec![
                Tok::NotDesc,
                Tok::UnionDesc,
                Tok::NotParent,
                Tok::UnionSibling,
                Tok::NotRe,
                Tok::Re,
                Tok::Desc,
                Tok::Ge
            ]
        );
    }

    #[test]
    fn numbers_durations_and_intrinsics() {
        assert_eq!(
            toks("span:duration > 1.5s 2 0.5"),
            vec![
                Tok::Intrinsic("span".into(), "duration".into()),
                Tok::Gt,
                Tok::Duration(1_500_000_000),
                Tok::Int(2),
                Tok::Float(0.5)
            ]
        );
    }

    #[test]
    fn bad_input_is_positioned() {
        let e = tokenize(r#"{ .a = "x }"#).unwrap_err();
        assert_eq!((e.start, e.message.as_str()), (7, "unterminated string"));
        let e = tokenize("{ .a = 5xs }").unwrap_err();
        assert_eq!((e.start, e.end), (7, 10));
        let e = tokenize("{ foo.bar = 1 }").unwrap_err();
        assert_eq!((e.start, e.end), (2, 6));
        let e = tokenize("{ . = 1 }").unwrap_err();
        assert_eq!(e.start, 3);
        let e = tokenize("{ .a = 1 } $").unwrap_err();
        assert_eq!((e.start, e.end), (11, 12));
    }
}
