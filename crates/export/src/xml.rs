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
    pub(crate) fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }
}
