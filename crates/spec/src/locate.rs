//! Finds where a field path (`road.zones[1].share`) sits in RON text, for error positions.
//! Values left out (defaults) are reported at their nearest written parent.

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        loop {
            while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if self.b[self.i..].starts_with(b"//") {
                while self.i < self.b.len() && self.b[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if self.b[self.i..].starts_with(b"/*") {
                self.i += 2;
                while self.i < self.b.len() && !self.b[self.i..].starts_with(b"*/") {
                    self.i += 1;
                }
                self.i = (self.i + 2).min(self.b.len());
            } else if self.b[self.i..].starts_with(b"#![") {
                while self.i < self.b.len() && self.b[self.i] != b']' {
                    self.i += 1;
                }
                self.i = (self.i + 1).min(self.b.len());
            } else {
                return;
            }
        }
    }

    fn ident(&mut self) -> &[u8] {
        let s = self.i;
        while self.i < self.b.len()
            && (self.b[self.i].is_ascii_alphanumeric() || self.b[self.i] == b'_')
        {
            self.i += 1;
        }
        &self.b[s..self.i]
    }

    /// Skips one value (anything up to the next `,` or closing bracket at this depth).
    fn skip_value(&mut self) {
        let mut depth = 0i32;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    while self.i < self.b.len() && self.b[self.i] != b'"' {
                        if self.b[self.i] == b'\\' {
                            self.i += 1;
                        }
                        self.i += 1;
                    }
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                }
                b',' if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }

    /// At a struct value (optionally named): moves to the value of field `name`.
    fn enter_field(&mut self, name: &str) -> bool {
        self.skip_ws();
        self.ident();
        self.skip_ws();
        if self.b.get(self.i) != Some(&b'(') {
            return false;
        }
        self.i += 1;
        loop {
            self.skip_ws();
            if self.i >= self.b.len() || self.b[self.i] == b')' {
                return false;
            }
            let key = self.ident().to_vec();
            self.skip_ws();
            if self.b.get(self.i) != Some(&b':') {
                return false;
            }
            self.i += 1;
            self.skip_ws();
            if key == name.as_bytes() {
                return true;
            }
            self.skip_value();
            if self.b.get(self.i) == Some(&b',') {
                self.i += 1;
            }
        }
    }

    /// At a list value: moves to element `k`.
    fn enter_index(&mut self, k: usize) -> bool {
        self.skip_ws();
        if self.b.get(self.i) != Some(&b'[') {
            return false;
        }
        self.i += 1;
        for _ in 0..k {
            self.skip_ws();
            self.skip_value();
            if self.b.get(self.i) != Some(&b',') {
                return false;
            }
            self.i += 1;
        }
        self.skip_ws();
        self.i < self.b.len() && self.b[self.i] != b']'
    }
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    (line, col)
}

/// Line and column (1-based) of the value at `path`, or of its nearest written parent.
pub(crate) fn locate(text: &str, path: &str) -> (usize, usize) {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let mut best = 0;
    for part in path.split('.') {
        let (name, indices) = match part.find('[') {
            Some(p) => (&part[..p], &part[p..]),
            None => (part, ""),
        };
        if name.starts_with(|ch: char| ch.is_ascii_uppercase()) {
            // An enum variant (`kind.CutIn.gap_m`): the value is the variant itself.
            let at = c.i;
            c.skip_ws();
            let same = c.ident() == name.as_bytes();
            c.i = at;
            if !same {
                break;
            }
            continue;
        }
        if !c.enter_field(name) {
            break;
        }
        best = c.i;
        let mut ok = true;
        for idx in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Ok(k) = idx.parse::<usize>() else { break };
            if !c.enter_index(k) {
                ok = false;
                break;
            }
            best = c.i;
        }
        if !ok {
            break;
        }
    }
    line_col(text, best)
}
