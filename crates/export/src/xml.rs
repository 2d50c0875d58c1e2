//! A small XML writer for the exports: indented elements, attributes in the order given,
//! floats in Rust's shortest round-trip form (so the text is exact and the same bytes come
//! out every time), text escaped by quick-xml.

use quick_xml::escape::escape;
use std::fmt::Write;

/// An attribute value, formatted straight into the output.
pub(crate) enum V<'a> {
    F(f64),
    I(i64),
    S(&'a str),
}

pub(crate) fn num(v: f64) -> V<'static> {
    V::F(v)
}

pub(crate) fn int(v: impl Into<i64>) -> V<'static> {
    V::I(v.into())
}

pub(crate) fn txt(v: &str) -> V<'_> {
    V::S(v)
}

impl<'a> From<&'a str> for V<'a> {
    fn from(s: &'a str) -> Self {
        V::S(s)
    }
}

pub(crate) struct Xml {
    pub(crate) out: String,
    /// Indent nested elements (off for large documents: one element per line, no padding).
    pub(crate) pretty: bool,
    depth: usize,
    ryu: ryu::Buffer,
    itoa: itoa::Buffer,
}

impl Xml {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Self {
            out,
            pretty: true,
            depth: 0,
            ryu: ryu::Buffer::new(),
            itoa: itoa::Buffer::new(),
        }
    }
    fn indent(&mut self) {
        if !self.pretty {
            return;
        }
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn open_tag(&mut self, name: &str, attrs: &[(&str, V<'_>)], empty: bool) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            match v {
                // Shortest representation that round-trips; -0 written as 0.
                V::F(x) if *x == 0.0 => self.out.push('0'),
                V::F(x) if x.is_finite() => {
                    let t = self.ryu.format_finite(*x);
                    self.out.push_str(t.strip_suffix(".0").unwrap_or(t));
                }
                V::F(x) => {
                    let _ = write!(self.out, "{x}");
                }
                V::I(i) => self.out.push_str(self.itoa.format(*i)),
                V::S(t) => self.out.push_str(&escape(*t)),
            }
            self.out.push('"');
        }
        self.out.push_str(if empty { "/>\n" } else { ">\n" });
        if !empty {
            self.depth += 1;
        }
    }
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, V<'_>)]) {
        self.open_tag(name, attrs, false);
    }
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, V<'_>)]) {
        self.open_tag(name, attrs, true);
    }
    /// `<name>text</name>` on one line.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>{}</{name}>", escape(text));
    }
    /// `<name>v</name>` with `v` as a plain decimal (no exponent, as `xs:decimal` wants),
    /// rounded to `places` decimals, trailing zeros dropped.
    pub(crate) fn decimal(&mut self, name: &str, v: f64, places: usize) {
        self.indent();
        let _ = write!(self.out, "<{name}>");
        push_decimal(&mut self.out, v, places);
        let _ = writeln!(self.out, "</{name}>");
    }
    pub(crate) fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }
}

/// Appends `v` rounded to `places` decimals, without exponent or trailing zeros (`-0` is `0`).
pub(crate) fn push_decimal(out: &mut String, v: f64, places: usize) {
    let start = out.len();
    let _ = write!(out, "{v:.places$}");
    if out[start..].contains('.') {
        let trimmed = out[start..]
            .trim_end_matches('0')
            .trim_end_matches('.')
            .len();
        out.truncate(start + trimmed);
    }
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_plain_rounded_and_trimmed() {
        let f = |v: f64, p: usize| {
            let mut s = String::new();
            push_decimal(&mut s, v, p);
            s
        };
        assert_eq!(f(1.0, 3), "1");
        assert_eq!(f(0.00001, 3), "0");
        assert_eq!(f(-0.0001, 3), "0");
        assert_eq!(f(-12.3456, 3), "-12.346");
        assert_eq!(f(1e-7, 9), "0.0000001");
        assert_eq!(f(1.5e12, 2), "1500000000000");
        assert_eq!(f(100.0, 0), "100");
    }
}
